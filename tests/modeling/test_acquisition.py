"""Acquisition: each uncertainty measure, disagreement, diversity, and a batch with its reasons."""

import numpy as np
import pytest

from modeling.acquisition import (
    REASON_ANOMALY,
    REASON_AUDIT,
    REASON_COLD_START,
    REASON_DISAGREEMENT,
    REASON_ENTITY_RISK,
    REASON_LIKELY_FRAUD,
    REASON_UNCERTAIN,
    AcquisitionConfig,
    batch_select,
    committee_disagreement,
    entropy,
    interleaved_priorities,
    k_center_greedy,
    least_confidence,
    margin,
)

PROBA = np.array([[0.5, 0.5], [0.9, 0.1], [1.0, 0.0]])


def test_least_confidence_margin_and_entropy():
    np.testing.assert_allclose(least_confidence(PROBA), [0.5, 0.1, 0.0])
    np.testing.assert_allclose(margin(PROBA), [1.0, 0.2, 0.0])
    np.testing.assert_allclose(entropy(PROBA)[[0, 2]], [1.0, 0.0], atol=1e-9)
    assert 0 < entropy(PROBA)[1] < 1


def test_entropy_with_three_classes_is_one_at_uniform():
    assert entropy(np.full((1, 3), 1 / 3))[0] == pytest.approx(1.0)


def test_disagreement_is_zero_for_agreeing_members_and_compares_ranks_not_values():
    scores = np.array([0.1, 0.5, 0.9, 0.3])
    np.testing.assert_allclose(committee_disagreement([scores, scores * 1000]), 0.0)
    reversed_ranks = committee_disagreement([scores, -scores])
    assert reversed_ranks[np.argmax(scores)] == reversed_ranks.max()


def test_k_center_greedy_covers_the_clusters(rng):
    clusters = np.array([[0, 0], [10, 0], [0, 10], [10, 10]])
    points = np.vstack([c + rng.normal(0, 0.1, (25, 2)) for c in clusters])
    picked = k_center_greedy(points, 4, rng=rng)
    assert len(set(picked // 25)) == 4  # one point from each cluster


def test_cold_start_ranks_by_anomaly(rng):
    anomaly = np.arange(1000, dtype=float)
    selection = batch_select(size=40, proba=None, anomaly=anomaly, rng=rng)
    assert len(selection.indices) == 40 == len(set(selection.indices.tolist()))
    assert set(selection.reasons) == {REASON_COLD_START}
    assert selection.indices.tolist() == list(range(999, 959, -1))


def test_batch_mixes_likely_fraud_disagreement_and_uncertain(rng):
    count = 2000
    fraud = np.linspace(0, 1, count)
    proba = np.column_stack([1 - fraud, fraud])
    members = [fraud, rng.random(count)]
    config = AcquisitionConfig(likely_fraud_share=0.5, disagreement_share=0.2)
    selection = batch_select(
        size=100,
        proba=proba,
        anomaly=rng.random(count),
        rng=rng,
        config=config,
        member_scores=members,
        embedding=rng.normal(size=(count, 4)),
    )
    reasons = np.array(selection.reasons)
    counts = {reason: int(np.sum(reasons == reason)) for reason in set(selection.reasons)}
    assert counts == {REASON_LIKELY_FRAUD: 50, REASON_DISAGREEMENT: 20, REASON_UNCERTAIN: 30}
    assert len(set(selection.indices.tolist())) == 100
    likely = selection.indices[reasons == REASON_LIKELY_FRAUD]
    assert sorted(likely.tolist()) == list(range(count - 50, count))
    uncertain = selection.indices[reasons == REASON_UNCERTAIN]
    assert np.all(np.abs(fraud[uncertain] - 0.5) < 0.1)  # near the boundary
    # Served by priority, the reasons come dealt by share, each in its own best-first order.
    served = np.argsort(-selection.priorities, kind="stable")
    assert reasons[served[:10]].tolist().count(REASON_LIKELY_FRAUD) == 5
    first_likely = [i for i in served if reasons[i] == REASON_LIKELY_FRAUD]
    assert fraud[selection.indices[first_likely]].tolist() == sorted(
        fraud[likely].tolist(), reverse=True
    )


def test_batch_larger_than_the_pool_takes_everything(rng):
    selection = batch_select(size=50, proba=None, anomaly=rng.random(12), rng=rng)
    assert sorted(selection.indices.tolist()) == list(range(12))


def test_when_likely_fraud_picks_run_dry_the_anomaly_ranking_takes_most_of_their_slots(rng):
    count = 1000
    proba = np.column_stack([np.linspace(1, 0, count), np.linspace(0, 1, count)])
    anomaly = rng.random(count)
    config = AcquisitionConfig(likely_fraud_share=0.8, dry_likely_fraud_share=0.3)
    hot = batch_select(
        size=100, proba=proba, anomaly=anomaly, rng=rng, config=config, exploit_hit_rate=0.5
    )
    dry = batch_select(
        size=100, proba=proba, anomaly=anomaly, rng=rng, config=config, exploit_hit_rate=0.05
    )
    assert hot.reasons.count(REASON_LIKELY_FRAUD) == 80 and REASON_ANOMALY not in hot.reasons
    assert dry.reasons.count(REASON_LIKELY_FRAUD) == 30
    assert dry.reasons.count(REASON_ANOMALY) == 50
    picked = dry.indices[np.asarray(dry.reasons) == REASON_ANOMALY]
    likely = set(dry.indices[np.asarray(dry.reasons) == REASON_LIKELY_FRAUD])
    free = np.setdiff1d(np.arange(count), list(likely))
    assert set(picked) == set(free[np.argsort(-anomaly[free])][:50])


def test_rows_at_merchants_with_known_frauds_take_their_share_first_and_only_when_at_risk(rng):
    count = 1000
    proba = np.column_stack([np.linspace(1, 0, count), np.linspace(0, 1, count)])
    anomaly = rng.random(count)
    risk = np.zeros(count)
    risk[[5, 50, 500]] = [0.2, 0.9, 0.5]  # three rows at merchants with known frauds
    config = AcquisitionConfig(entity_risk_share=0.1, likely_fraud_share=0.5)
    picked = batch_select(
        size=100, proba=proba, anomaly=anomaly, rng=rng, config=config, entity_risk=risk
    )
    reasons = np.asarray(picked.reasons)
    # Ten slots, but only three rows at risk: those three, riskiest first; the rest as before.
    assert picked.indices[reasons == REASON_ENTITY_RISK].tolist() == [50, 500, 5]
    assert len(set(picked.indices.tolist())) == 100
    assert np.sum(reasons == REASON_LIKELY_FRAUD) == round(97 * 0.5)
    # The cold start takes them too, and the anomaly ranking fills the rest of the batch.
    cold = batch_select(
        size=40, proba=None, anomaly=anomaly, rng=rng, config=config, entity_risk=risk
    )
    assert cold.reasons.count(REASON_ENTITY_RISK) == 3 and len(cold.indices) == 40
    # Off by default: the same call without the share picks no row for its risk.
    plain = batch_select(size=100, proba=proba, anomaly=anomaly, rng=rng, entity_risk=risk)
    assert REASON_ENTITY_RISK not in plain.reasons


def _plan(sizes: dict[str, int]) -> list[str]:
    """Reasons grouped as a plan holds them: each reason's picks together, best first."""
    return [reason for reason, size in sizes.items() for _ in range(size)]


@pytest.mark.parametrize("queue_size", [20, 50, 200, 1000])
def test_any_prefix_of_the_served_order_carries_each_reasons_share(queue_size):
    audit = round(0.1 * queue_size)
    chosen = queue_size - audit
    likely, disagreement = round(0.85 * chosen), round(0.05 * chosen)
    reasons = _plan(
        {
            REASON_LIKELY_FRAUD: likely,
            REASON_DISAGREEMENT: disagreement,
            REASON_UNCERTAIN: chosen - likely - disagreement,
            REASON_AUDIT: audit,
        }
    )
    priorities = interleaved_priorities(reasons, {REASON_AUDIT: 0.1})
    served = np.asarray(reasons)[np.argsort(-priorities, kind="stable")]
    share = {reason: reasons.count(reason) / queue_size for reason in set(reasons)}
    for prefix in range(1, queue_size + 1):
        for reason, planned in share.items():
            assert abs(np.sum(served[:prefix] == reason) - planned * prefix) <= 1, (prefix, reason)


def test_a_queue_of_200_serves_the_planned_mix_in_its_first_50_items():
    reasons = _plan(
        {REASON_LIKELY_FRAUD: 153, REASON_DISAGREEMENT: 9, REASON_UNCERTAIN: 18, REASON_AUDIT: 20}
    )
    served = np.asarray(reasons)[np.argsort(-interleaved_priorities(reasons), kind="stable")]
    first = {reason: int(np.sum(served[:50] == reason)) for reason in set(reasons)}
    for reason, count in first.items():
        assert abs(count - reasons.count(reason) * 50 / 200) <= 1, first


def test_a_reason_short_of_its_share_keeps_its_rate_at_the_front():
    # Five audit picks where the plan's share would hold twenty: all five in the first 50.
    reasons = _plan({REASON_LIKELY_FRAUD: 195, REASON_AUDIT: 5})
    priorities = interleaved_priorities(reasons, {REASON_AUDIT: 0.1})
    served = np.asarray(reasons)[np.argsort(-priorities, kind="stable")]
    positions = np.flatnonzero(served == REASON_AUDIT)
    assert len(positions) == 5 and positions.max() < 50
    assert abs(np.sum(served[:30] == REASON_AUDIT) - 3) <= 1
