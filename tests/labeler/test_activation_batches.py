"""Activation is a short switch: inside it the queue is replaced, each item carrying the new
version's suggestion on its entry, and no transaction row is written; every row's new score
follows in batches of their own transactions, and a copy cut short is finished by the next
claim (or dropped once a newer version is active)."""

import threading
import time

import pytest
from django.db import connection, transaction

from labeler.models import (
    ModelVersion,
    PlannedQueueEntry,
    QueueEntry,
    ReviewItem,
    StagedScore,
    TrainingPolicy,
    Transaction,
)
from labeler.services import activation, queueing, write_batches
from labeler.services.demo import demo_data_import
from labeler.services.training import outputs
from labeler.services.training_runs import training_request, training_run_claim
from tests.labeler.training_helpers import run
from tests.workers import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_queue(training_here):
    policy = TrainingPolicy.current()
    policy.queue_size = 60
    policy.save()


@pytest.fixture
def dataset():
    return demo_data_import(rows=1500, features=6, fraud_rate=0.03, seed=2).dataset


def test_the_switch_writes_no_transaction_row_and_batches_copy_every_score(dataset, monkeypatch):
    inside_switch = {}
    swap = activation.queue_swap

    def seen_inside(*, dataset, version):  # the switching transaction's last step
        counts = swap(dataset=dataset, version=version)
        inside_switch["scored"] = Transaction.objects.filter(scored_by=version).count()
        inside_switch["entries"] = list(
            QueueEntry.objects.values_list("model_version", "score", "suggested_class")
        )
        inside_switch["in_review"] = QueueEntry.objects.filter(
            transaction__in=ReviewItem.objects.filter(resolved_at__isnull=True).values(
                "transaction"
            )
        ).count()
        return counts

    monkeypatch.setattr(activation, "queue_swap", seen_inside)
    batches = []
    copy = activation.activation_scores_copy
    monkeypatch.setattr(
        activation,
        "activation_scores_copy",
        lambda *, version: batches.append(copy(version=version, batch_rows=200)) or batches[-1],
    )
    version = run(dataset)
    assert version.status == ModelVersion.Status.ACTIVE
    assert inside_switch["scored"] == 0
    entries = inside_switch["entries"]
    assert len(entries) == 60
    assert all(v == version.pk and s is not None for v, s, _ in entries)
    # Whatever waits for a reviewer (spot checks open before the swap) stays out of the queue.
    assert inside_switch["in_review"] == 0
    # After the switch every row carries the new version's score, and nothing stays staged.
    assert batches == [1500]
    assert set(Transaction.objects.values_list("scored_by", flat=True)) == {version.pk}
    assert not StagedScore.objects.exists()
    # Each queued item shows what its row now says: the same version's score and class.
    for entry in QueueEntry.objects.select_related("transaction"):
        row = entry.transaction
        assert (entry.score, entry.suggested_class_id) == pytest.approx(
            (row.score, row.suggested_class_id)
        )


def killed_before_the_copy(dataset) -> ModelVersion:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(activation, "activation_scores_copy", lambda *, version: 0)
        return run(dataset)


def test_a_copy_cut_short_is_finished_by_the_next_claim(dataset):
    version = killed_before_the_copy(dataset)
    assert version.status == ModelVersion.Status.ACTIVE
    assert StagedScore.objects.filter(model_version=version).count() == 1500
    again = training_request(dataset=dataset, trigger="command").version
    assert training_run_claim(version_id=again.pk, worker="w2") is not None
    assert set(Transaction.objects.values_list("scored_by", flat=True)) == {version.pk}
    assert not StagedScore.objects.exists()


def test_a_newer_version_drops_the_older_unfinished_copy(dataset):
    first = killed_before_the_copy(dataset)
    assert StagedScore.objects.filter(model_version=first).exists()
    second = run(dataset)
    assert not StagedScore.objects.exists()
    assert set(Transaction.objects.values_list("scored_by", flat=True)) == {second.pk}


def inserts_counted(monkeypatch, model) -> list[int]:
    """The rows of each batch of `model`'s rows that a run stages from now on."""
    counted = []
    insert = write_batches.columns_insert

    def counting(into, columns, *, rows):
        if into is model:
            counted.append(rows)
        return insert(into, columns, rows=rows)

    monkeypatch.setattr(write_batches, "columns_insert", counting)
    return counted


def test_scores_staged_in_chunks_of_their_own_all_arrive(dataset, monkeypatch):
    monkeypatch.setattr(outputs, "STAGE_CHUNK_ROWS", 400)
    staged = inserts_counted(monkeypatch, StagedScore)
    version = run(dataset)
    # The rows outside the audit frame (one shard), then the frame's with the audit's inclusion.
    frame = Transaction.objects.filter(audit_number__isnull=False).count()
    assert 0 < frame < 400
    assert staged == [400, 400, 400, 1500 - frame - 1200, frame]
    assert set(Transaction.objects.values_list("scored_by", flat=True)) == {version.pk}


def test_a_queue_plan_staged_in_chunks_arrives_whole(dataset, monkeypatch):
    monkeypatch.setattr(queueing, "PLAN_CHUNK_ROWS", 25)  # 60 planned items: 25, 25, 10
    staged = inserts_counted(monkeypatch, PlannedQueueEntry)
    version = run(dataset)
    assert staged == [25, 25, 10]
    entries = QueueEntry.objects.filter(model_version=version).select_related("transaction")
    assert entries.count() == 60
    # Each item's columns arrived beside its own row, not shifted by a chunk.
    for entry in entries:
        assert (entry.score, entry.suggested_class_id) == pytest.approx(
            (entry.transaction.score, entry.transaction.suggested_class_id)
        )


@pytest.mark.django_db(transaction=True)
def test_a_write_waiting_during_the_score_copy_gets_its_turn(dataset, monkeypatch):
    """The copy writes in batches of their own transactions, so a write that arrives meanwhile
    goes in after the batch being written, not after the whole copy."""
    version = killed_before_the_copy(dataset)
    apply = activation._staged_range_apply

    def slow_batch(*args):  # holds the write lock a while, as a large batch does
        time.sleep(0.05)
        return apply(*args)

    monkeypatch.setattr(activation, "_staged_range_apply", slow_batch)
    outcome = {}

    def copy():
        try:
            outcome["copied"] = activation.activation_scores_copy(version=version, batch_rows=50)
            outcome["ended"] = time.perf_counter()
        finally:
            connection.close()

    copier = threading.Thread(target=copy)
    copier.start()
    try:
        wait_until(
            Transaction.objects.filter(scored_by=version).exists,
            timeout=60,
            what="the copy's first batch",
        )
        entry = QueueEntry.objects.order_by("pk").first()
        with transaction.atomic():  # an answer's write
            QueueEntry.objects.filter(pk=entry.pk).update(priority=entry.priority + 1)
        written = time.perf_counter()
    finally:
        copier.join(timeout=120)
    assert outcome["copied"] == 1500
    assert written < outcome["ended"], "the write waited for the whole copy"


def test_each_batch_searches_for_its_first_row_past_the_batches_copied(dataset):
    """A batch's rows are deleted from the stage once copied, but stay in its index until a
    vacuum: a search from the start would walk every earlier batch's rows again."""
    from django.test.utils import CaptureQueriesContext

    version = killed_before_the_copy(dataset)
    with CaptureQueriesContext(connection) as queries:
        assert activation.activation_scores_copy(version=version, batch_rows=200) == 1500
    searches = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT")
        and StagedScore._meta.db_table in q["sql"]
        and "ORDER BY" in q["sql"]
        and "LIMIT 1" in q["sql"]
        and "OFFSET" not in q["sql"]
        and "DESC" not in q["sql"]  # the last batch's end
    ]
    # Per batch (8 of them), its first staged row; then the search that finds none left.
    assert len(searches) == 8 + 1
    assert '"transaction_id" >' not in searches[0]
    assert all('"transaction_id" >' in search for search in searches[1:])
    assert set(Transaction.objects.values_list("scored_by", flat=True)) == {version.pk}
