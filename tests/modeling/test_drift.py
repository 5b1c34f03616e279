"""Population stability: near zero for the same distribution, large for a planted shift."""

import numpy as np
import pytest

from modeling.drift import (
    SHIFTED,
    DriftReference,
    drift_counts,
    drift_reference,
    stability_index,
)


def test_the_same_distribution_is_stable_and_a_planted_shift_is_not():
    rng = np.random.default_rng(0)
    training = np.column_stack([rng.normal(size=50_000), rng.integers(0, 2, 50_000)])
    reference = drift_reference(training)
    assert len(reference.edges[0]) == 9  # deciles of a continuous column
    assert len(reference.shares[1]) == 2  # a flag: one bin per value
    assert np.allclose([sum(s) for s in reference.shares], 1.0)
    same = np.column_stack([rng.normal(size=5_000), rng.integers(0, 2, 5_000)])
    counts = drift_counts(same, reference)
    assert [sum(c) for c in counts] == [5_000, 5_000]
    assert all(stability_index(s, c) < 0.02 for s, c in zip(reference.shares, counts, strict=True))
    # The amount doubles (a shift of one standard deviation) and the flag is set far more often.
    moved = np.column_stack([rng.normal(loc=1.0, size=5_000), rng.random(5_000) < 0.9])
    shifted = drift_counts(moved, reference)
    psi = [stability_index(s, c) for s, c in zip(reference.shares, shifted, strict=True)]
    assert psi[0] > SHIFTED and psi[1] > SHIFTED


def test_the_index_by_hand_and_the_state_round_trip():
    # Reference 50/50, new 90/10: (0.9-0.5) ln(0.9/0.5) + (0.1-0.5) ln(0.1/0.5).
    expected = 0.4 * np.log(1.8) + (-0.4) * np.log(0.2)
    assert stability_index([0.5, 0.5], [90, 10]) == pytest.approx(expected)
    assert stability_index([0.5, 0.5], [0, 0]) >= 0.0  # no rows yet: no error
    reference = drift_reference(np.arange(100.0)[:, None])
    again = DriftReference.from_state(reference.to_state())
    assert again == reference
    assert drift_counts(np.array([[-5.0], [500.0]]), again) == [[1] + [0] * 8 + [1]]
