"""Population stability: how far new rows have moved from the rows a version was trained on.

For each column (the fraud score, each model input) the reference keeps the bins its deciles
make on the training rows and the share of those rows in each bin; new rows are counted into
the same bins, and the population stability index (PSI) compares the two distributions:
sum over bins of (new share - reference share) * ln(new share / reference share). The usual
reading: below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a shift worth a retrain.
Columns with few distinct values (a flag, a category level) get fewer bins, one per value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINS = 10
SHIFTED = 0.25  # a PSI above this is a shift worth retraining for
FLOOR = 1e-4  # an empty bin's share, so that the logarithm stays finite


@dataclass
class DriftReference:
    edges: list[list[float]]  # per column, the inner bin edges (increasing)
    shares: list[list[float]]  # per column, the reference rows' share in each bin

    def to_state(self) -> dict:
        return {"edges": self.edges, "shares": self.shares}

    @classmethod
    def from_state(cls, state: dict) -> DriftReference:
        return cls(edges=state["edges"], shares=state["shares"])


def drift_reference(values: np.ndarray, *, bins: int = BINS) -> DriftReference:
    """The bins of each column of `values` (rows, columns) at its deciles, and their shares."""
    values = np.asarray(values, np.float64)
    edges, shares = [], []
    for column in values.T:
        inner = np.unique(np.quantile(column, np.linspace(0, 1, bins + 1)[1:-1]))
        # An edge at the column's minimum would open a bin below it that no row can fill.
        inner = inner[inner > column.min()] if len(column) else inner
        counts = np.bincount(np.searchsorted(inner, column, side="right"), minlength=len(inner) + 1)
        edges.append([float(edge) for edge in inner])
        shares.append([float(share) for share in counts / max(1, len(column))])
    return DriftReference(edges=edges, shares=shares)


def drift_counts(values: np.ndarray, reference: DriftReference) -> list[list[int]]:
    """How many of the new rows fall in each bin of each column."""
    values = np.asarray(values, np.float64)
    return [
        np.bincount(
            np.searchsorted(np.asarray(edges), values[:, column], side="right"),
            minlength=len(edges) + 1,
        ).tolist()
        for column, edges in enumerate(reference.edges)
    ]


def stability_index(shares: list[float], counts: list[int]) -> float:
    """The PSI of new rows (`counts` per bin) against the reference's `shares`."""
    expected = np.maximum(np.asarray(shares, np.float64), FLOOR)
    total = max(1, int(np.sum(counts)))
    actual = np.maximum(np.asarray(counts, np.float64) / total, FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))
