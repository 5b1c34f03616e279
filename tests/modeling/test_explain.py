"""Occlusion reasons name the inputs that drive a planted score, with their sign and size."""

import numpy as np
import pytest

from modeling.committee import Committee, CommitteeConfig
from modeling.explain import nearest_labeled, occlusion_reasons
from modeling.weak import WeakClassifier


def planted_committee() -> Committee:
    weak = WeakClassifier(2)
    # Fraud log-odds = 3 x0 - 2 x2 - 1: input 1 and 3 do nothing.
    weak.coefficients = np.array([[0, 0, 0, 0], [3, 0, -2, 0]], np.float32)
    weak.intercepts = np.array([0, -1], np.float32)
    weak.fitted = True
    return Committee(weak=weak, sgan=None, config=CommitteeConfig())


def test_the_planted_inputs_are_the_reasons_strongest_first():
    x = np.array([[2.0, 5.0, -1.0, 0.0], [0.0, 1.0, 0.5, 0.0], [0.0, 3.0, 0.0, 0.0]], np.float32)
    first, second, third = occlusion_reasons(planted_committee(), x, positive=1)
    assert [r.feature for r in first] == [0, 2]
    assert first[0].log_odds == pytest.approx(6.0, abs=1e-3)  # 3 x 2
    assert first[1].log_odds == pytest.approx(2.0, abs=1e-3)  # -2 x -1: raises too
    assert first[0].deviation == 2.0 and first[1].deviation == -1.0
    assert [r.feature for r in second] == [2] and second[0].log_odds == pytest.approx(-1.0)
    assert third == []  # only an input that does nothing is away from typical


def test_top_limits_and_empty_input():
    x = np.array([[1.0, 0.0, -1.0, 0.0]], np.float32)
    (reasons,) = occlusion_reasons(planted_committee(), x, positive=1, top=1)
    assert [r.feature for r in reasons] == [0]
    assert occlusion_reasons(planted_committee(), np.zeros((0, 4), np.float32), positive=1) == []


def test_nearest_labeled_rows_without_an_sgan_are_nearest_in_the_input():
    labeled = np.array([[0, 0, 0, 0], [5, 5, 0, 0], [1, 0, 0, 0], [9, 9, 9, 9]], np.float32)
    x = np.array([[4.0, 5.0, 0.0, 0.0], [0.2, 0.0, 0.0, 0.0]], np.float32)
    positions, distances = nearest_labeled(planted_committee(), x, labeled, count=2)
    assert positions.tolist() == [[1, 2], [0, 2]]
    assert distances[0, 0] == pytest.approx(1.0) and distances[1, 0] == pytest.approx(0.2)
    empty, _ = nearest_labeled(planted_committee(), x, labeled[:0])
    assert empty.shape == (2, 0)
