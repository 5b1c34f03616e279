"""Quality of a fraud ranking: AP, ROC AUC, best F1, precision@k, recall at a budget, Brier."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    precision_recall_curve,
    roc_auc_score,
)


def precision_at_k(labels: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Share of frauds among the k highest scores."""
    if k <= 0 or len(labels) == 0:
        return float("nan")
    top = np.argsort(-scores, kind="stable")[: min(k, len(labels))]
    return float(np.mean(labels[top]))


def recall_at_budget(labels: np.ndarray, scores: np.ndarray, budget: int) -> float:
    """Share of all frauds a reviewer finds by checking the `budget` highest scores."""
    total = int(np.sum(labels))
    if total == 0:
        return float("nan")
    top = np.argsort(-scores, kind="stable")[: max(0, budget)]
    return float(np.sum(labels[top]) / total)


def best_f1(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The highest F1 over thresholds, and the threshold that gives it."""
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = np.where(
        precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0
    )
    best = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    return float(f1[best]), float(thresholds[best]) if len(thresholds) else 1.0


def ranking_metrics(
    labels: np.ndarray, scores: np.ndarray, *, budget: int = 100
) -> dict[str, float]:
    """All figures for a binary fraud score in [0, 1]; NaN where a figure is undefined."""
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    both_classes = 0 < labels.sum() < len(labels)
    f1, threshold = best_f1(labels, scores) if both_classes else (float("nan"), float("nan"))
    return {
        "average_precision": float(average_precision_score(labels, scores))
        if both_classes
        else float("nan"),
        "roc_auc": float(roc_auc_score(labels, scores)) if both_classes else float("nan"),
        "best_f1": f1,
        "best_f1_threshold": threshold,
        "precision_at_100": precision_at_k(labels, scores, 100),
        f"recall_at_{budget}": recall_at_budget(labels, scores, budget),
        "brier": float(brier_score_loss(labels, np.clip(scores, 0, 1)))
        if len(labels)
        else float("nan"),
        "positives": int(labels.sum()),
        "count": len(labels),
    }
