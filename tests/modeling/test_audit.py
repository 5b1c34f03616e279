"""The audit's design: a proposal that favours high scores, inclusion probabilities that only
grow, and permanent random numbers that make the union of designs one probability sample."""

import numpy as np
import pytest

from modeling.audit import (
    AuditConfig,
    audit_inclusion,
    audit_proposal,
    audit_round,
    audit_selected,
    harmonic_ranks,
)


def test_the_proposal_gives_every_row_a_chance_and_high_scores_more(rng):
    probability = rng.random(1000) ** 8
    proposal = audit_proposal(
        fraud_probability=probability, anomaly=rng.random(1000), config=AuditConfig()
    )
    assert proposal.sum() == pytest.approx(1.0) and proposal.min() > 0
    top, bottom = np.argmax(probability), np.argmin(probability)
    assert proposal[top] > 50 * proposal[bottom]
    # Before a committee exists, the anomaly ranking and the uniform share carry it all.
    cold = audit_proposal(fraud_probability=None, anomaly=np.arange(10.0), config=AuditConfig())
    assert cold.sum() == pytest.approx(1.0) and np.argmax(cold) == 9


def test_harmonic_ranks_give_each_decade_of_the_ranking_a_like_share():
    weights = harmonic_ranks(-np.arange(100_000.0))  # row 0 ranks first
    decades = [weights[10**k - 1 : 10 ** (k + 1) - 1].sum() for k in range(1, 5)]
    assert max(decades) / min(decades) < 1.1


def test_inclusion_reaches_the_expected_size_and_never_falls(rng):
    proposal = rng.dirichlet(np.ones(500))
    first = audit_inclusion(previous=np.zeros(500), proposal=proposal, expected_size=20)
    assert first.sum() == pytest.approx(20, rel=1e-6) and first.max() <= 1
    other = rng.dirichlet(np.ones(500))
    second = audit_inclusion(previous=first, proposal=other, expected_size=30)
    assert np.all(second >= first) and second.sum() == pytest.approx(30, rel=1e-6)
    # A sample as large as asked already: the new design adds nothing.
    assert np.array_equal(
        audit_inclusion(previous=second, proposal=other, expected_size=25), second
    )


def test_the_union_of_designs_is_a_sample_with_the_largest_probability_each_gave(rng):
    count, draws = 200, 20_000
    designs = [rng.dirichlet(np.ones(count) * 0.5) for _ in range(3)]
    inclusion = np.zeros(count)
    for size, proposal in zip([5, 10, 15], designs, strict=True):
        inclusion = audit_inclusion(previous=inclusion, proposal=proposal, expected_size=size)
    numbers = rng.random((draws, count))
    frequency = audit_selected(numbers, inclusion[None, :]).mean(axis=0)
    np.testing.assert_allclose(frequency, inclusion, atol=0.015)


def test_a_round_queues_the_sample_rows_nobody_answered_in_the_order_of_their_numbers(rng):
    count = 400
    numbers = rng.random(count)
    answered = np.zeros(count, bool)

    def one_round(previous):
        return audit_round(
            audit_numbers=numbers,
            previous_inclusion=previous,
            answered=answered,
            unavailable=answered,
            fraud_probability=rng.random(count),
            anomaly=rng.random(count),
            round_answers=10,
            slots=6,
            config=AuditConfig(),
            rng=rng,
        )

    first = one_round(np.zeros(count))
    in_sample = np.flatnonzero(numbers < first.inclusion)
    assert first.selected == len(in_sample) >= 10 and len(first.picks) == 6
    assert set(first.picks) <= set(in_sample)
    answered[first.picks] = True
    second = one_round(first.inclusion)
    assert not set(second.picks) & set(first.picks)
    # Rows drawn in the first round and not queued then come before the second round's.
    waiting = [row for row in in_sample if row not in set(first.picks)]
    assert waiting and set(second.picks[: len(waiting)]) <= set(waiting)
    assert np.all(second.inclusion >= first.inclusion)
    # The sample grew by at least what the round is to answer, and holds that many open rows.
    assert second.inclusion.sum() >= answered.sum() + 10 - 1e-6
    waiting = (numbers < second.inclusion) & ~answered
    assert waiting.sum() >= 10 and len(second.picks) == 6
