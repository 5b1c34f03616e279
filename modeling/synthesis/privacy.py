"""How close generated rows sit to real ones: exact copies by fingerprint (every row written),
and distances to the closest real row against the real rows' own closest-neighbour distances
(a sample of rows, each against every real row)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch


def row_fingerprints(table: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row of the values as written (numbers as float64, the rest as text),
    so a generated row and a real one that read the same get the same fingerprint."""
    normalised = pd.DataFrame(
        {
            name: (
                table[name].astype(np.float64)
                if pd.api.types.is_numeric_dtype(table[name])
                else table[name].astype(str)
            )
            for name in table.columns
        }
    )
    return pd.util.hash_pandas_object(normalised, index=False).to_numpy()


def closest_distances(
    queries: np.ndarray, reference: np.ndarray, *, own_rows: np.ndarray | None = None
) -> np.ndarray:
    """Each query row's Euclidean distance to its closest reference row; `own_rows` gives each
    query's own position in `reference` (real rows against all real rows), never its neighbour."""
    reference_tensor = torch.as_tensor(np.asarray(reference, np.float32))
    chunk_size = max(1, 32_000_000 // max(len(reference), 1))  # ~128 MB of distances a chunk
    result = np.empty(len(queries))
    for start in range(0, len(queries), chunk_size):
        chunk = torch.as_tensor(np.asarray(queries[start : start + chunk_size], np.float32))
        distances = torch.cdist(chunk, reference_tensor)
        if own_rows is not None:
            positions = torch.as_tensor(own_rows[start : start + len(chunk)])
            distances[torch.arange(len(chunk)), positions] = float("inf")
        result[start : start + len(chunk)] = distances.min(dim=1).values.numpy()
    return result


@dataclass
class PrivacyFigures:
    rows_compared: int
    real_fifth_percentile: float  # of the real rows' distances to their closest other real row
    share_closer: float  # of generated rows closer to a real row than that
    median_distance_ratio: float  # generated rows' median closest distance / the real rows'
    copies: int  # generated rows that read exactly as a real one

    @property
    def passed(self) -> bool:
        return self.copies == 0 and self.share_closer <= PRIVACY_MAX_SHARE_CLOSER


PRIVACY_MAX_SHARE_CLOSER = 0.01


def privacy_figures(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    copies: int,
    sample: int = 5_000,
    seed: int = 0,
) -> PrivacyFigures:
    """`real` (the rows the generator learned from) and `synthetic` are encoded rows. A sample
    of each (at most `sample` rows) is measured against *all* real rows: a generator that
    copies its data must be caught whichever rows it copied."""
    rng = np.random.default_rng(seed)
    size = min(sample, len(real) - 1, len(synthetic))
    if size < 1:
        raise ValueError("at least two real rows and one generated row are needed")
    real_picks = rng.choice(len(real), size, replace=False)
    real_distances = closest_distances(real[real_picks], real, own_rows=real_picks)
    synthetic_rows = synthetic[rng.choice(len(synthetic), size, replace=False)]
    synthetic_distances = closest_distances(synthetic_rows, real)
    fifth = float(np.quantile(real_distances, 0.05))
    return PrivacyFigures(
        rows_compared=size,
        real_fifth_percentile=fifth,
        share_closer=float(np.mean(synthetic_distances < fifth)),
        median_distance_ratio=float(
            np.median(synthetic_distances) / max(np.median(real_distances), 1e-12)
        ),
        copies=int(copies),
    )
