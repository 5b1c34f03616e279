"""Ranking metrics agree with hand-checked values."""

import math

import numpy as np
import pytest

from modeling.metrics import best_f1, precision_at_k, ranking_metrics, recall_at_budget

LABELS = np.array([1, 0, 1, 0, 0, 0, 0, 1])
SCORES = np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.05, 0.3, 0.01])


def test_precision_at_k_and_recall_at_budget():
    assert precision_at_k(LABELS, SCORES, 3) == pytest.approx(2 / 3)
    assert recall_at_budget(LABELS, SCORES, 3) == pytest.approx(2 / 3)
    assert recall_at_budget(LABELS, SCORES, 8) == 1.0


def test_best_f1_and_its_threshold():
    f1, threshold = best_f1(LABELS, SCORES)
    assert f1 == pytest.approx(2 / 3)  # the top 3 hold 2 of the 3 frauds: p = r = 2/3
    assert threshold == pytest.approx(0.7)


def test_all_figures_present_and_single_class_gives_nan():
    figures = ranking_metrics(LABELS, SCORES, budget=4)
    assert figures["average_precision"] == pytest.approx((1 + 2 / 3 + 3 / 8) / 3)
    assert figures["roc_auc"] == pytest.approx(9 / 15)
    assert set(figures) >= {
        "best_f1",
        "best_f1_threshold",
        "precision_at_100",
        "recall_at_4",
        "brier",
    }
    empty = ranking_metrics(np.zeros(5), np.linspace(0, 1, 5))
    assert math.isnan(empty["average_precision"]) and math.isnan(empty["roc_auc"])
