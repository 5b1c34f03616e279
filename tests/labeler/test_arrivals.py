"""Transactions scored on arrival by the active version, without a retrain: the same scores a
version gives them on a transaction's page, their likely frauds queued at once and kept by the
next activation, and the next version used as soon as it is active."""

from __future__ import annotations

import json

import numpy as np
import pytest

from labeler.models import (
    ModelVersion,
    QueueEntry,
    TrainingPolicy,
    Transaction,
)
from labeler.pages.home import dataset_dashboard
from labeler.services.arrivals import ARRIVAL_PRIORITY, arrival_threshold, arrivals_score
from labeler.services.demo import raw_demo_import
from labeler.services.ingesting import transactions_ingest
from labeler.services.training.rescoring import transaction_scores_by_version
from labeler.services.version_scoring import version_bundle
from modeling.drift import SHIFTED
from tests.labeler.api.conftest import client_for
from tests.labeler.training_helpers import (
    arrivals,
    raw_committee_version,
    run,
    runs_in_this_process,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch, settings, tmp_path):
    runs_in_this_process(monkeypatch, settings, tmp_path, queue_size=80)


@pytest.fixture
def trained(bob):
    return raw_committee_version(bob)


def test_a_batch_is_scored_as_the_version_scores_it_and_its_likely_frauds_queued(trained):
    dataset, version = trained
    outcome = transactions_ingest(dataset=dataset, body=arrivals(60), kind="json")
    assert outcome.added == 60
    scored = arrivals_score(batch_id=outcome.batch.pk)
    assert (scored.scored, scored.version_id) == (60, version.pk)
    rows = list(Transaction.objects.filter(import_batch=outcome.batch).order_by("id"))
    assert {row.scored_by_id for row in rows} == {version.pk}
    assert all(row.suggested_class_id is not None for row in rows)
    # The same probability the version gives each one from its model file, derived features
    # (its card's and merchant's history) included.
    for row in rows[:5]:
        again = {s.version.pk: s for s in transaction_scores_by_version(transaction=row)}
        assert again[version.pk].fraud_probability == pytest.approx(row.score, abs=1e-5)
    # Queued: exactly the rows at or above the version's likely-fraud cut, outside the audit
    # frame, ahead of everything the plan queued.
    threshold = arrival_threshold(version)
    expected = {row.pk for row in rows if row.score >= threshold and row.audit_number is None}
    queued = QueueEntry.objects.filter(reason=QueueEntry.Reason.ARRIVAL)
    assert set(queued.values_list("transaction_id", flat=True)) == expected
    assert scored.queued == len(expected)
    plan_top = (
        QueueEntry.objects.exclude(reason=QueueEntry.Reason.ARRIVAL)
        .order_by("-priority")
        .values_list("priority", flat=True)
        .first()
    )
    assert all(entry.priority > plan_top >= 0 for entry in queued)
    assert all(entry.priority > ARRIVAL_PRIORITY for entry in queued)
    # Each says why the version thinks so, as the items it planned do.
    for entry in queued:
        assert entry.explanation["nearest"] == []
        assert len(entry.explanation["reasons"]) <= 3
    assert not queued or any(entry.explanation["reasons"] for entry in queued)
    # A second delivery of the task scores nothing again.
    assert arrivals_score(batch_id=outcome.batch.pk).scored == 0


def test_arrivals_queued_stay_through_the_next_activation_which_then_scores_new_ones(
    trained, bob, monkeypatch
):
    dataset, _ = trained
    first = transactions_ingest(dataset=dataset, body=arrivals(40), kind="json").batch
    # Every arrival above the median of the version's scores is queued here, so that some are.
    median = float(
        np.median(Transaction.objects.filter(score__isnull=False).values_list("score", flat=True))
    )
    monkeypatch.setattr("labeler.services.arrivals.arrival_threshold", lambda version: median)
    assert arrivals_score(batch_id=first.pk).queued > 0
    assert any(
        entry.explanation["reasons"] for entry in QueueEntry.objects.filter(reason="arrival")
    )
    waiting = set(
        QueueEntry.objects.filter(reason="arrival").values_list("transaction_id", flat=True)
    )
    following = run(dataset)
    assert following.status == ModelVersion.Status.ACTIVE
    # The swap replaced the plan but kept the arrivals waiting for an answer.
    kept = QueueEntry.objects.filter(reason="arrival").values_list("transaction_id", flat=True)
    assert set(kept) == waiting
    later = transactions_ingest(
        dataset=dataset, body=arrivals(70, prefix="later"), kind="json"
    ).batch
    outcome = arrivals_score(batch_id=later.pk)
    # The active version is read for each batch: the new one scores it.
    assert outcome.version_id == following.pk
    assert set(
        Transaction.objects.filter(import_batch=later).values_list("scored_by", flat=True)
    ) == {following.pk}


def test_without_an_active_version_arrivals_wait_for_the_next_run(bob):
    dataset = raw_demo_import(customers=20, terminals=40, days=20, seed=4).dataset
    batch = transactions_ingest(dataset=dataset, body=arrivals(5, seed=4), kind="json").batch
    outcome = arrivals_score(batch_id=batch.pk)
    assert (outcome.scored, outcome.queued, outcome.version_id) == (0, 0, None)
    assert not Transaction.objects.filter(import_batch=batch, score__isnull=False).exists()


def test_the_cut_follows_the_versions_own_likely_frauds(trained):
    _, version = trained
    likely = QueueEntry.objects.filter(model_version=version, reason="likely_fraud")
    assert likely.exists()
    assert arrival_threshold(version) == min(likely.values_list("score", flat=True))
    # Once its likely frauds are answered, the top of its scores.
    likely.delete()
    quantiles = version.metrics["score_quantiles"]
    assert quantiles[-2] <= arrival_threshold(version) <= quantiles[-1]


def test_no_more_arrivals_wait_than_the_queue_holds_the_best_ones_stay(trained, bob, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    dataset, _ = trained
    policy = TrainingPolicy.current()
    policy.queue_size = 5
    policy.save()
    monkeypatch.setattr("labeler.services.arrivals.arrival_threshold", lambda version: 0.0)
    first = transactions_ingest(dataset=dataset, body=arrivals(8), kind="json").batch
    outcome = arrivals_score(batch_id=first.pk)
    queueable = Transaction.objects.filter(import_batch=first, audit_number__isnull=True)
    assert len(queueable) > 5  # (the audit frame's rows are the audit's)
    assert (outcome.queued, outcome.left_queue) == (5, len(queueable) - 5)
    waiting = QueueEntry.objects.filter(reason="arrival")
    kept = set(waiting.values_list("transaction_id", flat=True))
    scores = sorted(queueable, key=lambda t: -t.score)
    assert kept == {t.pk for t in scores[:5]}  # the five most likely frauds
    # The one someone holds stays, whatever its score; the others make room for better ones.
    held = waiting.order_by("priority").first()
    QueueEntry.objects.filter(pk=held.pk).update(
        leased_to=bob, lease_expires_at=timezone.now() + timedelta(minutes=5)
    )
    second = transactions_ingest(dataset=dataset, body=arrivals(20, prefix="more"), kind="json")
    arrivals_score(batch_id=second.batch.pk)
    assert waiting.count() == 5 and waiting.filter(pk=held.pk).exists()


def test_a_decision_scores_rows_as_their_arrival_would_and_stores_nothing(trained, alice, bob):
    dataset, version = trained
    body = arrivals(12, prefix="ask")
    before = Transaction.objects.count()
    response = client_for(alice).post(
        f"/api/v1/datasets/{dataset.pk}/score/", data=body, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["version"], answer["kind"]) == (version.pk, version.kind)
    assert Transaction.objects.count() == before  # nothing stored
    decisions = answer["decisions"]
    assert [d["id"] for d in decisions] == [f"ask-{i}" for i in range(12)]
    names = {*dataset.feature_names, "amount", "hour of day", "unusual overall (anomaly detectors)"}
    names |= set(version_bundle(version).metadata["derived_names"])
    for decision in decisions:
        assert 0.0 <= decision["fraud_probability"] <= 1.0
        assert 0.0 < decision["top_share"] <= 1.0
        assert decision["suggested_class"] in {"legit", "fraud"}
        assert len(decision["reasons"]) <= 3
        assert {reason["name"] for reason in decision["reasons"]} <= names
    assert any(decision["reasons"] for decision in decisions)
    # The same probabilities the rows get once they arrive (stored, then scored).
    batch = transactions_ingest(dataset=dataset, body=body, kind="json").batch
    arrivals_score(batch_id=batch.pk)
    stored = dict(
        Transaction.objects.filter(import_batch=batch).values_list("external_id", "score")
    )
    for decision in decisions:
        assert decision["fraud_probability"] == pytest.approx(stored[decision["id"]], abs=1e-5)
    # Without an id column the rows are still scored; annotators may not ask.
    first = json.loads(body)[0]
    first.pop("transaction_id")
    bare = client_for(alice).post(
        f"/api/v1/datasets/{dataset.pk}/score/",
        data=json.dumps([first]),
        content_type="application/json",
    )
    assert bare.status_code == 200 and bare.json()["decisions"][0]["id"] is None
    refused = client_for(bob).post(
        f"/api/v1/datasets/{dataset.pk}/score/", data=body, content_type="application/json"
    )
    assert refused.status_code == 403


def test_no_decision_before_a_trained_version(alice):
    dataset = raw_demo_import(customers=20, terminals=40, days=20, seed=4).dataset
    response = client_for(alice).post(
        f"/api/v1/datasets/{dataset.pk}/score/",
        data=arrivals(2, seed=4),
        content_type="application/json",
    )
    assert response.status_code == 409
    assert "no active model version" in response.json()["detail"]


def test_drift_of_arrivals_against_the_rows_the_version_trained_on(trained):
    dataset, version = trained
    reference = version.metrics["drift"]
    assert reference["columns"][0] == "fraud score"
    assert len(reference["columns"]) == len(reference["shares"]) == len(reference["edges"])
    assert all(sum(shares) == pytest.approx(1.0) for shares in reference["shares"])
    batch = transactions_ingest(dataset=dataset, body=arrivals(300), kind="json").batch
    arrivals_score(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.drift["version"] == version.pk
    assert [sum(counts) for counts in batch.drift["counts"]] == [300] * len(reference["columns"])
    drift = dataset_dashboard(dataset).drift
    assert (drift.version, drift.rows) == (version.pk, 300)
    assert drift.score < SHIFTED  # the same cards and merchants, two days on
    assert drift.inputs["amount"] < 0.1
    # A planted shift: the same transactions again, each fifty times the amount.
    rows = json.loads(arrivals(300, prefix="dear"))
    for row in rows:
        row["amount"] = round(row["amount"] * 50, 2)
    dear = transactions_ingest(dataset=dataset, body=json.dumps(rows).encode(), kind="json")
    arrivals_score(batch_id=dear.batch.pk)
    drift = dataset_dashboard(dataset).drift
    assert drift.rows == 600 and drift.shifted
    assert drift.inputs["amount"] > SHIFTED
