"""How the committee's members are weighed: the shares, the weighted geometric mean they mix
by, and the record they are learned from (each member's probabilities for answers it had not
seen)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from modeling.committee import CommitteeConfig


@dataclass
class ShareEvidence:
    """Each member's probabilities for rows a human answered after that member was trained: an
    honest record of which member ranks new answers better. (The SGAN's held-out labels are not:
    its checkpoint was picked on them, which flatters it.)"""

    members: dict[str, np.ndarray]  # member -> (n, K)
    labels: np.ndarray  # (n,) class codes the humans gave

    def extended(self, members: dict[str, np.ndarray], labels: np.ndarray) -> ShareEvidence:
        """This record plus more rows; a record of other members (a member joined since)
        starts again from the new rows, since mixes are only compared on rows all members saw."""
        labels = np.asarray(labels, np.int64)
        if set(members) != set(self.members):
            return ShareEvidence(dict(members), labels)
        return ShareEvidence(
            {name: np.vstack([self.members[name], members[name]]) for name in members},
            np.concatenate([self.labels, labels]),
        )


class Shares(NamedTuple):
    sgan: float  # the SGAN's weight against the weak classifier
    anomaly: float  # the anomaly rank's exponent, on top of the classifiers'
    trees: float = 0.0  # the trees' part of the classifiers' weight


def mix_weights(members, shares: Shares) -> dict[str, float]:
    """Each present member's exponent in the product: the classifiers' sum to 1, so a typical
    row (anomaly rank 0.5, the same factor for every class) keeps their confidence; the anomaly
    rank's exponent comes on top and shifts the odds of unusual and very usual rows."""
    sgan = shares.sgan if "sgan" in members else 0.0
    trees = shares.trees if "trees" in members else 0.0
    weights = {
        "weak": (1 - trees) * (1 - sgan),
        "sgan": (1 - trees) * sgan,
        "trees": trees,
        "anomaly": shares.anomaly,
    }
    return {name: weights[name] for name in members}


def geometric_mean(members: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Weighted product of (n, K) probability arrays, renormalised per row: the members'
    probabilities live on different scales (class weights, PU background, ranks), and a row all
    of them rank high stays high."""
    logs = sum(
        weight * np.log(np.clip(members[name], 1e-7, 1.0)) for name, weight in weights.items()
    )
    combined = np.exp(logs - logs.max(axis=1, keepdims=True))
    return combined / combined.sum(axis=1, keepdims=True)


RESAMPLED_ROWS = 100_000


def average_precision_weighted(
    scores: np.ndarray, is_positive: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Average precision of one ranking (`scores`, (n,)) under each row of `weights` ((B, n):
    how often each answer counts in a resample of the record), as scikit-learn computes it
    (tied scores are one threshold). NaN where a resample holds no fraud."""
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    positive = is_positive[order].astype(np.float64)
    weights = weights[:, order]
    true = np.cumsum(weights * positive, axis=1)
    every = np.cumsum(weights, axis=1)
    last_of_tie = np.append(np.flatnonzero(np.diff(ranked)), len(ranked) - 1)
    true, every = true[:, last_of_tie], every[:, last_of_tie]
    total = true[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(every > 0, true / np.where(every > 0, every, 1), 0.0)
        recall = true / total
    steps = np.diff(recall, axis=1, prepend=0.0)
    return np.where(total[:, 0] > 0, np.sum(steps * precision, axis=1), np.nan)


def shares_learn(evidence: ShareEvidence | None, config: CommitteeConfig) -> Shares:
    """The grid's shares whose mix ranks the record's frauds best (average precision; ties go
    to the shares nearest the priors), each pulled towards its prior while the record holds
    few frauds. The priors without a record of both kinds. A share the config fixes is used as
    given, and the others are learned alongside that value; a member missing from the record
    keeps its prior.

    With `share_resamples` > 1 the best shares are found on that many bootstrap resamples of
    the record (the first is the record itself) and averaged: on a record of a few hundred
    answers the single best grid point can jump across the grid with a round more, the average
    much less."""
    priors = Shares(
        config.sgan_share_prior if config.sgan_share is None else config.sgan_share,
        config.anomaly_share_prior if config.anomaly_share is None else config.anomaly_share,
        config.trees_share_prior if config.trees_share is None else config.trees_share,
    )
    if evidence is None:
        return priors
    is_positive = evidence.labels == config.positive_class
    if is_positive.all() or not is_positive.any():
        return priors
    members = evidence.members
    grids = [
        config.share_grid if "sgan" in members and config.sgan_share is None else (priors[0],),
        config.anomaly_grid
        if "anomaly" in members and config.anomaly_share is None
        else (priors[1],),
        config.trees_grid if "trees" in members and config.trees_share is None else (priors[2],),
    ]
    candidates = np.array(list(itertools.product(*grids)), np.float64)  # (C, 3)
    weights = _resample_weights(len(is_positive), config)
    ap = np.stack(
        [
            average_precision_weighted(
                geometric_mean(members, mix_weights(members, Shares(*candidate)))[
                    :, config.positive_class
                ],
                is_positive,
                weights,
            )
            for candidate in candidates
        ]
    )  # (C, B)
    nearness = -np.abs(candidates - np.asarray(priors)).sum(axis=1)
    # A share with one value to take keeps it exactly (an average of copies need not be).
    best = [
        grid[0] if len(grid) == 1 else float(value)
        for grid, value in zip(grids, _best_on_average(ap, candidates, nearness), strict=True)
    ]
    frauds = int(np.sum(is_positive))
    pull = frauds / (frauds + config.share_prior_positives)
    return Shares(
        *(prior + (value - prior) * pull for value, prior in zip(best, priors, strict=True))
    )


def _resample_weights(rows: int, config: CommitteeConfig) -> np.ndarray:
    """(B, rows): how often each answer counts in each resample; the first is the record. A
    long record moves little with one answer more, and resampling it costs its length times
    the resamples for every grid point: about RESAMPLED_ROWS rows' worth per point at most."""
    resamples = max(1, min(config.share_resamples, RESAMPLED_ROWS // rows))
    weights = np.ones((resamples, rows))
    weights[1:] = np.random.default_rng(config.share_seed).poisson(1.0, (resamples - 1, rows))
    return weights


def _best_on_average(ap: np.ndarray, candidates: np.ndarray, nearness: np.ndarray) -> np.ndarray:
    """The mean over resamples of each one's best candidate (`ap`: (C, B)); ties go to the
    candidate nearest the priors, and resamples without a fraud choose nothing."""
    chosen = []
    for column in ap.T[~np.isnan(ap[0])]:
        best = np.flatnonzero(column >= np.nanmax(column) - 1e-12)
        chosen.append(candidates[best[np.argmax(nearness[best])]])
    return np.mean(chosen, axis=0)
