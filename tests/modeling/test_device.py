"""Device choice and seeding."""

import numpy as np
import pytest
import torch

from modeling.device import resolve_device, set_seed


def test_auto_picks_cuda_exactly_when_available():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"


def test_asking_for_cuda_without_a_gpu_is_an_error():
    if torch.cuda.is_available():
        assert resolve_device("cuda").type == "cuda"
    else:
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_seed_makes_draws_repeat():
    first = set_seed(3).random(3), torch.rand(2)
    second = set_seed(3).random(3), torch.rand(2)
    np.testing.assert_array_equal(first[0], second[0])
    assert torch.equal(first[1], second[1])
