"""The model input: features, log amount and time of day, robustly scaled with a saved scaler."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SECONDS_PER_DAY = 86_400.0
CLIP = 8.0  # scaled values beyond this many IQRs carry no more signal, only outlier noise


def feature_matrix(
    features: np.ndarray, amount: np.ndarray, time: np.ndarray | None = None
) -> np.ndarray:
    """Raw model input: the feature vector, log(1 + amount), and the hour of day on a circle.

    Amounts are heavy-tailed (a few are 100x the median), so the model sees their logarithm.
    """
    columns = [np.asarray(features, dtype=np.float32), np.log1p(np.maximum(amount, 0))[:, None]]
    if time is not None:
        angle = 2 * np.pi * (np.asarray(time, dtype=np.float64) % SECONDS_PER_DAY) / SECONDS_PER_DAY
        columns += [np.sin(angle)[:, None], np.cos(angle)[:, None]]
    return np.hstack(columns).astype(np.float32)


@dataclass
class FeatureScaler:
    """Median / IQR scaling, fitted once per dataset on labeled and unlabeled rows alike."""

    center: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, matrix: np.ndarray) -> FeatureScaler:
        low, center, high = np.percentile(matrix, [25, 50, 75], axis=0)
        spread = high - low
        fallback = matrix.std(axis=0)
        scale = np.where(spread > 1e-9, spread, np.where(fallback > 1e-9, fallback, 1.0))
        return cls(center=center.astype(np.float32), scale=scale.astype(np.float32))

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        if matrix.shape[1] != len(self.center):
            raise ValueError(
                f"the scaler was fitted on {len(self.center)} columns, got {matrix.shape[1]}"
            )
        scaled = (matrix - self.center) / self.scale
        return np.clip(scaled, -CLIP, CLIP).astype(np.float32)

    def to_state(self) -> dict:
        return {"center": self.center.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_state(cls, state: dict) -> FeatureScaler:
        return cls(
            center=np.asarray(state["center"], np.float32),
            scale=np.asarray(state["scale"], np.float32),
        )
