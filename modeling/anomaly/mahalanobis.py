"""The robust Mahalanobis distance: how far a row lies from the bulk of the rows, in the units of
the bulk's own spread in every direction. The mean and covariance are learned from the most
central rows only (the concentration steps of Rousseeuw and Van Driessen's FAST-MCD, started
from the whole sample), so the outliers being looked for do not widen the ellipse that is meant
to exclude them. Directions with almost no spread (one-hot columns that sum to one, exact linear
relations between columns) get a floor on their variance, so a rounding error in them cannot
decide the ranking. No network and no random draw beyond the row sample: the same rows give the
same ranking on every seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from modeling.anomaly.base import Detector

SCORE_BLOCK = 65_536


@dataclass
class MahalanobisConfig:
    # The share of the rows the mean and covariance are learned from: those nearest the centre.
    # 0.75 is the usual compromise between robustness (up to 25% outliers cannot move the
    # ellipse) and efficiency; 0.5 is the most robust and, with 30 columns, leaves
    # near-singular covariances.
    central_share: float = 0.75
    steps: int = 3  # concentration steps; each can only shrink the covariance's determinant
    # A variance floor per direction, as a share of the mean variance over all directions.
    variance_floor: float = 0.01
    max_rows: int = 50_000  # rows the mean and covariance are learned from
    seed: int = 0
    device: str = "auto"  # unused: a few matrix products run on the CPU

    def __post_init__(self):
        if not 0.0 < self.central_share <= 1.0:
            raise ValueError("central_share must be in (0, 1]")
        if self.steps < 0 or self.variance_floor <= 0.0:
            raise ValueError("steps must be >= 0 and variance_floor > 0")


class MahalanobisDetector(Detector):
    name = "mahalanobis"
    config_class = MahalanobisConfig

    def __init__(self, input_size: int, config: MahalanobisConfig):
        super().__init__(input_size, config)
        self.center = np.zeros(input_size)
        self.axes = np.eye(input_size)  # columns: the covariance's eigenvectors
        self.variances = np.ones(input_size)  # along each axis, floored

    def _fit(self, x: np.ndarray, *, rng, on_progress) -> None:
        sample = np.asarray(x, np.float64)
        keep = max(int(np.ceil(self.config.central_share * len(sample))), 2)
        self._ellipse(sample)
        for step in range(self.config.steps):
            if on_progress is not None:
                on_progress(step / self.config.steps)
            central = np.argsort(self._distance(sample), kind="stable")[:keep]
            self._ellipse(sample[central])

    def _ellipse(self, rows: np.ndarray) -> None:
        """The mean, axes and floored variances of `rows`."""
        self.center = rows.mean(axis=0)
        covariance = np.atleast_2d(np.cov(rows, rowvar=False)) if len(rows) > 1 else None
        if covariance is None or not np.all(np.isfinite(covariance)):
            covariance = np.eye(rows.shape[1])
        variances, self.axes = np.linalg.eigh(covariance)
        mean = float(np.mean(np.maximum(variances, 0.0)))
        floor = self.config.variance_floor * (mean if mean > 0.0 else 1.0)
        self.variances = np.maximum(variances, floor)

    def _distance(self, rows: np.ndarray) -> np.ndarray:
        """The squared Mahalanobis distance of each row from the ellipse's centre."""
        along = (np.asarray(rows, np.float64) - self.center) @ self.axes
        return (along**2 / self.variances).sum(axis=1)

    def score(self, x: np.ndarray) -> np.ndarray:
        parts = [
            self._distance(x[start : start + SCORE_BLOCK])
            for start in range(0, len(x), SCORE_BLOCK)
        ]
        return np.concatenate(parts) if parts else np.zeros(0)

    def _weights_state(self) -> dict:
        return {
            "center": torch.as_tensor(self.center),
            "axes": torch.as_tensor(self.axes),
            "variances": torch.as_tensor(self.variances),
        }

    def _weights_load(self, weights: dict, *, device: str) -> None:
        shapes = {
            "center": (self.input_size,),
            "axes": (self.input_size, self.input_size),
            "variances": (self.input_size,),
        }
        for name, shape in shapes.items():
            if tuple(weights[name].shape) != shape:
                raise ValueError(
                    f"the model file's mahalanobis {name} has shape {tuple(weights[name].shape)}, "
                    f"expected {shape}"
                )
        self.center = weights["center"].numpy().astype(np.float64)
        self.axes = weights["axes"].numpy().astype(np.float64)
        self.variances = weights["variances"].numpy().astype(np.float64)
        if np.any(self.variances <= 0.0):
            raise ValueError("the model file's mahalanobis variances must be positive")
