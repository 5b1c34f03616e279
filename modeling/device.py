"""Where models run (CUDA when available, else CPU) and seeding for reproducible runs."""

from __future__ import annotations

import random

import numpy as np
import torch


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' is CUDA when present; asking for 'cuda' with no GPU is an error, not a fallback."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but no CUDA GPU is available")
    return resolved


def set_seed(seed: int) -> np.random.Generator:
    """Seeds Python, NumPy and PyTorch; returns a NumPy generator for the caller's own draws."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def modules_seeded(seed: int, build):
    """`build()`'s modules with initial weights that follow `seed` alone, not whatever ran
    before; the global random state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()
