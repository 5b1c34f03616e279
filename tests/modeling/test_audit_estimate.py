"""Quality figures from the audit alone: exact on a census, unbiased within their intervals over
many samples of a population whose truth is known, and silent when the labels are too few."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from modeling.audit import AuditConfig, audit_inclusion, audit_proposal, audit_selected
from modeling.audit_estimate import AuditEstimateConfig, audit_estimate


@pytest.fixture(scope="module")
def population():
    """20,000 transactions, 0.5% fraud, a score that ranks fraud higher but far from perfectly."""
    rng = np.random.default_rng(7)
    labels = (rng.random(20_000) < 0.005).astype(np.int64)
    scores = rng.normal(0, 1, 20_000) + 3.0 * labels
    probability = 1 / (1 + np.exp(-(scores - 3)))
    return labels, scores, probability, rng.random(20_000)


def truth(labels, scores, share):
    order = np.argsort(-scores, kind="stable")
    top = order[: round(share * len(scores))]
    return labels[top].sum() / len(top)


def test_a_census_gives_the_exact_figures(population):
    labels, scores, _, _ = population
    everyone = np.arange(len(labels))
    figures = audit_estimate(
        frame_scores=scores,
        answered=everyone,
        labels=labels,
        inclusion=np.ones(len(labels)),
        selected=len(labels),
        population=len(labels),
        known_frauds=0,
        config=AuditEstimateConfig(bootstrap=50),
    )
    assert figures["average_precision"]["value"] == pytest.approx(
        average_precision_score(labels, scores), abs=1e-3
    )
    assert figures["precision_at_top"]["value"] == pytest.approx(
        truth(labels, scores, 0.001), abs=1e-3
    )
    assert figures["frauds_total"]["value"] == labels.sum()
    assert figures["frauds_missed"]["value"] == labels.sum()


def test_over_many_samples_the_estimates_are_unbiased_within_their_intervals(population):
    labels, scores, probability, anomaly = population
    true_ap = average_precision_score(labels, scores)
    proposal = audit_proposal(fraud_probability=probability, anomaly=anomaly, config=AuditConfig())
    inclusion = audit_inclusion(
        previous=np.zeros(len(labels)), proposal=proposal, expected_size=300
    )
    rng = np.random.default_rng(11)
    estimates, covered, totals = [], [], []
    for draw in range(150):
        sample = np.flatnonzero(audit_selected(rng.random(len(labels)), inclusion))
        figures = audit_estimate(
            frame_scores=scores,
            answered=sample,
            labels=labels[sample],
            inclusion=inclusion[sample],
            selected=len(sample),
            population=len(labels),
            known_frauds=0,
            config=AuditEstimateConfig(bootstrap=200, seed=draw),
        )
        ap = figures["average_precision"]
        estimates.append(ap["value"])
        covered.append(ap["low"] <= true_ap <= ap["high"])
        totals.append(figures["frauds_total"]["value"])
    assert np.mean(estimates) == pytest.approx(true_ap, abs=0.03)
    assert np.mean(covered) >= 0.8  # 90% intervals
    assert np.mean(totals) == pytest.approx(labels.sum(), rel=0.1)  # Horvitz-Thompson


def test_too_few_audit_labels_say_how_many_more_are_needed_instead_of_a_number():
    figures = audit_estimate(
        frame_scores=np.linspace(0, 1, 1000),
        answered=np.arange(10),
        labels=np.array([1] + [0] * 9),
        inclusion=np.full(10, 0.05),
        selected=10,
        population=10_000,
        known_frauds=1,
    )
    assert "average_precision" not in figures and "precision_at_top" not in figures
    assert figures["labels"] == 10 and figures["frauds"] == 1
    # 2 more frauds at the 1-in-10 rate seen so far: about 20 more answers.
    assert figures["needed_labels"] == 20 and figures["needed_frauds"] == 2
