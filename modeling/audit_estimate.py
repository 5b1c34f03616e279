"""Quality figures a user can trust: importance-weighted estimates over the audit labels alone.

Every audit label answers a row of the audit frame (a random share of the dataset no model
learned from) that the audit drew with a known inclusion probability (`modeling.audit`). Each
label is weighted by 1 / that probability (Horvitz-Thompson), so the frame's frauds are counted
as if every frame row had been labeled; ranks and counts above a score are the frame's own,
known exactly. The figures describe the version on transactions it has not seen, like tomorrow's:
average precision, precision among the highest scores, recall at a review budget, and the frauds
still among the unlabeled rows. Each comes with a percentile bootstrap interval over the audit
labels and the number of labels behind it. The committee's own picks never enter.

What the audit cannot see it cannot count: frauds a version ranks far down are drawn with small
probabilities, so until the audit holds some of them the estimates lean optimistic and their
intervals are the honest measure of how little is known yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FIGURES = ("average_precision", "precision_at_top", "recall_at_budget", "frauds_total")


@dataclass
class AuditEstimateConfig:
    top_share: float = 0.001  # precision among the highest-scored 0.1% of transactions
    budget_share: float = 0.01  # recall when reviewing the highest-scored 1%
    level: float = 0.9  # of the intervals
    bootstrap: int = 1000
    # Fewer answers than this, or fewer frauds among them, and the figures are not shown: a
    # bootstrap over two frauds says nothing about its own spread.
    min_labels: int = 20
    min_frauds: int = 3
    seed: int = 0


def _figures(
    scores_above: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    *,
    top_count: int,
    budget_count: int,
) -> np.ndarray:
    """[AP, precision in the top, recall at the budget, frauds in the frame] for one sample."""
    frauds = labels == 1
    total = float(np.sum(weights[frauds]))
    if total <= 0:
        return np.array([np.nan, 0.0, np.nan, 0.0])
    fraud_above = scores_above[frauds]  # each audited fraud's rank: frame rows scored >= it
    fraud_weights = weights[frauds]
    # Estimated frauds scored at or above each audited fraud, over the rows that are. The fraud
    # itself counts once, not by its weight: given that it was drawn, the other draws estimate
    # the rest (with its weight, a rarely drawn fraud would see its own neighbourhood as fraud).
    order = np.argsort(fraud_above, kind="stable")
    running = np.cumsum(fraud_weights[order])
    last_at_or_above = np.searchsorted(fraud_above[order], fraud_above, side="right") - 1
    others = running[last_at_or_above] - fraud_weights
    precision = np.minimum(1.0, (1.0 + others) / fraud_above)
    average_precision = float(np.sum(fraud_weights * precision) / total)
    in_top = fraud_above <= top_count
    precision_at_top = min(1.0, float(np.sum(fraud_weights[in_top])) / top_count)
    recall = float(np.sum(fraud_weights[fraud_above <= budget_count]) / total)
    return np.array([average_precision, precision_at_top, recall, total])


def audit_estimate(
    *,
    frame_scores: np.ndarray,
    answered: np.ndarray,
    labels: np.ndarray,
    inclusion: np.ndarray,
    selected: int,
    population: int,
    known_frauds: int,
    config: AuditEstimateConfig | None = None,
) -> dict:
    """The figures for one version. `frame_scores`: its score for every frame row; `answered`:
    positions in the frame of the audit labels, `labels` their classes (1 fraud), `inclusion`
    their inclusion probabilities; `selected`: rows in the sample, answered or not (the answered
    share adjusts the counts); `population`: rows in the dataset; `known_frauds`: frauds people
    labeled in it. Returns JSON-ready figures, each {value, low, high}, or what is missing."""
    config = config or AuditEstimateConfig()
    frame_scores = np.asarray(frame_scores, np.float64)
    answered = np.asarray(answered, np.int64)
    labels = np.asarray(labels, np.int64)
    inclusion = np.asarray(inclusion, np.float64)
    frame_size = len(frame_scores)
    count, frauds = len(answered), int(np.sum(labels == 1))
    result: dict = {
        "labels": count,
        "frauds": frauds,
        "frame_rows": frame_size,
        "population": int(population),
        "pending": max(0, int(selected) - count),
        "top_share": config.top_share,
        "budget_share": config.budget_share,
        "level": config.level,
    }
    missing_labels = max(0, config.min_labels - count)
    missing_frauds = max(0, config.min_frauds - frauds)
    if missing_labels or missing_frauds or frame_size == 0:
        # At the fraud rate the audit has seen so far, how many more answers bring both counts up.
        rate = frauds / count if frauds else None
        for_frauds = int(np.ceil(missing_frauds / rate)) if rate else None
        result["needed_labels"] = max(missing_labels, for_frauds or 0)
        result["needed_frauds"] = missing_frauds
        return result
    if np.any(inclusion <= 0) or np.any(inclusion > 1):
        raise ValueError("inclusion probabilities must lie in (0, 1]")
    response = count / max(count, int(selected))  # sampled rows answered so far
    weights = 1.0 / (inclusion * response)
    ordered = np.sort(frame_scores)
    scores_above = frame_size - np.searchsorted(ordered, frame_scores[answered], side="left")
    sizes = {
        "top_count": max(1, round(config.top_share * frame_size)),
        "budget_count": max(1, round(config.budget_share * frame_size)),
    }
    point = _figures(scores_above, labels, weights, **sizes)
    rng = np.random.default_rng(config.seed)
    draws = np.array(
        [
            _figures(scores_above[pick], labels[pick], weights[pick], **sizes)
            for pick in rng.integers(0, count, size=(config.bootstrap, count))
        ]
    )
    tail = (1 - config.level) / 2
    low = np.nanquantile(np.where(np.isnan(draws), 0.0, draws), tail, axis=0)
    high = np.nanquantile(np.where(np.isnan(draws), 0.0, draws), 1 - tail, axis=0)
    scale = population / frame_size  # the frame is a random share of the dataset
    for index, name in enumerate(FIGURES):
        factor = scale if name == "frauds_total" else 1.0
        result[name] = {
            "value": round(float(point[index]) * factor, 4),
            "low": round(float(low[index]) * factor, 4),
            "high": round(float(high[index]) * factor, 4),
        }
    total = result["frauds_total"]
    result["frauds_missed"] = {
        key: round(max(0.0, total[key] - known_frauds), 1) for key in ("value", "low", "high")
    }
    result["top_count"] = max(1, round(config.top_share * population))
    result["budget_count"] = max(1, round(config.budget_share * population))
    return result
