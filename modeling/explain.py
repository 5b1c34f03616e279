"""Why the committee scores a row as it does: each input's share of the row's fraud log-odds,
by occlusion against the typical transaction.

The model input is scaled around the median (modeling/features.py), so the typical
transaction is the zero vector: an input's contribution is the row's fraud log-odds minus the
log-odds with that one input set to typical, the other inputs as they are. The classifiers
(weak and SGAN) are rerun per occluded input; the anomaly member's rank stays the row's own and
is reported as one reason of its own (how unusual the row is overall, from the detectors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modeling.committee import Committee
from modeling.committee_shares import geometric_mean, mix_weights

ANOMALY = -1  # the feature index of the anomaly member's reason
MIN_LOG_ODDS = 0.05  # contributions below this (a factor of 1.05 on the odds) are not reasons
OCCLUDED_ROWS_PER_PASS = 65_536  # occluded copies scored per classifier pass (memory bound)


@dataclass
class Reason:
    feature: int  # a column of the model input, or ANOMALY
    log_odds: float  # what this input adds to the row's fraud log-odds (negative: lowers them)
    deviation: float  # the input's distance from typical in interquartile ranges (ANOMALY: rank)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def occlusion_reasons(
    committee: Committee,
    x: np.ndarray,
    *,
    positive: int,
    top: int = 3,
    members: dict[str, np.ndarray] | None = None,
) -> list[list[Reason]]:
    """The `top` reasons of each row of `x` (scaled model input), strongest first. `members`:
    the committee's member probabilities of `x`, when the caller has them already."""
    x = np.asarray(x, np.float32)
    if len(x) == 0:
        return []
    if members is None:
        members = committee.member_proba(x)
    weights = mix_weights(members, committee.shares)
    base = _logit(geometric_mean(members, weights)[:, positive])
    contributions = np.zeros(x.shape, np.float64)
    columns = x.shape[1]
    # Every (row, input) occlusion of a block of rows in one pass of each classifier: one row
    # asked for on its own costs two passes, not two per input.
    block = max(1, OCCLUDED_ROWS_PER_PASS // max(1, columns))
    for start in range(0, len(x), block):
        rows = x[start : start + block]
        occluded = np.repeat(rows[:, None, :], columns, axis=1)
        occluded[:, np.arange(columns), np.arange(columns)] = 0.0
        occluded = occluded.reshape(-1, columns)
        changed = {"weak": committee.weak.predict_proba(occluded)}
        if "sgan" in members:
            changed["sgan"] = committee.sgan.predict_proba(occluded)
        if "trees" in members:
            changed["trees"] = committee.trees.predict_proba(occluded)
        if "anomaly" in members:
            changed["anomaly"] = np.repeat(members["anomaly"][start : start + block], columns, 0)
        without = _logit(geometric_mean(changed, weights)[:, positive]).reshape(len(rows), columns)
        contributions[start : start + block] = base[start : start + block, None] - without
    # An input that is typical already has nothing to take away.
    contributions[x == 0.0] = 0.0
    anomaly = None
    if "anomaly" in members:
        rank = members["anomaly"][:, positive]
        anomaly = weights["anomaly"] * _logit(rank)  # against a rank of 0.5: a neutral factor
    reasons = []
    for row in range(len(x)):
        found = [
            Reason(int(c), float(contributions[row, c]), float(x[row, c]))
            for c in np.argsort(-np.abs(contributions[row]), kind="stable")[:top]
            if abs(contributions[row, c]) >= MIN_LOG_ODDS
        ]
        if anomaly is not None and abs(anomaly[row]) >= MIN_LOG_ODDS:
            found.append(Reason(ANOMALY, float(anomaly[row]), float(rank[row])))
        found.sort(key=lambda reason: -abs(reason.log_odds))
        reasons.append(found[:top])
    return reasons


def nearest_labeled(
    committee: Committee, x: np.ndarray, x_labeled: np.ndarray, *, count: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `x`, the `count` nearest rows of `x_labeled` in the model's embedding
    (the SGAN discriminator's last hidden layer; the scaled input without an SGAN):
    (positions in `x_labeled`, distances), each (n, count), nearest first."""
    count = min(count, len(x_labeled))
    if count == 0 or len(x) == 0:
        return np.zeros((len(x), 0), np.int64), np.zeros((len(x), 0))
    embed = committee.sgan.embed if committee.sgan is not None else (lambda rows: rows)
    queries = np.asarray(embed(np.asarray(x, np.float32)), np.float64)
    known = np.asarray(embed(np.asarray(x_labeled, np.float32)), np.float64)
    # Squared distances by |q|^2 - 2 q.k + |k|^2, a block of queries at a time.
    norms = (known**2).sum(axis=1)
    positions = np.zeros((len(queries), count), np.int64)
    distances = np.zeros((len(queries), count))
    for start in range(0, len(queries), 1024):
        block = queries[start : start + 1024]
        squared = (block**2).sum(axis=1)[:, None] - 2 * block @ known.T + norms[None, :]
        nearest = np.argsort(squared, axis=1, kind="stable")[:, :count]
        positions[start : start + 1024] = nearest
        picked = np.take_along_axis(squared, nearest, axis=1)
        distances[start : start + 1024] = np.sqrt(np.maximum(picked, 0.0))
    return positions, distances
