"""Pseudo-labels: a model's confident predictions, used in training at a lower weight.

Per-class thresholds and per-class caps keep the majority class from flooding the training set
and keep the rare class to the few predictions a model is surest of; rows a human labeled never
get one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PseudoLabelConfig:
    thresholds: dict[int, float] = field(default_factory=lambda: {0: 0.999, 1: 0.995})
    caps: dict[int, int] = field(default_factory=lambda: {0: 20_000, 1: 20})
    weight: float = 0.3


@dataclass
class PseudoLabels:
    indices: np.ndarray  # rows of the given probability matrix
    classes: np.ndarray
    probabilities: np.ndarray
    weight: float


def pseudo_labels_select(
    proba: np.ndarray, *, human_labeled: np.ndarray, config: PseudoLabelConfig | None = None
) -> PseudoLabels:
    """The most confident rows per class, at or above the class threshold, up to the class cap."""
    config = config or PseudoLabelConfig()
    human_labeled = np.asarray(human_labeled, bool)
    predicted = proba.argmax(axis=1)
    confidence = proba.max(axis=1)
    chosen = []
    for label, threshold in config.thresholds.items():
        eligible = np.flatnonzero((predicted == label) & (confidence >= threshold) & ~human_labeled)
        cap = config.caps.get(label, len(eligible))
        chosen.append(eligible[np.argsort(-confidence[eligible], kind="stable")[:cap]])
    indices = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)
    return PseudoLabels(
        indices=indices,
        classes=predicted[indices],
        probabilities=confidence[indices],
        weight=config.weight,
    )
