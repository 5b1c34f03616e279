"""Labeling never waits for an activation: while a new version's switching transaction is open,
an annotator's answer on the item they hold is recorded at once, and a free item is still
served. On PostgreSQL (row locks) this is what the switch's design buys; SQLite has one write
lock for the whole database, so there the switch is kept short instead (benchmarks/load.py
measures the longest answer during a retrain on both)."""

import threading

import pytest
from django.db import connection

from labeler.models import Label, ModelVersion, QueueEntry, TrainingPolicy
from labeler.services import activation
from labeler.services.demo import demo_data_import
from labeler.services.labeling import label_submit, queue_next_item
from tests.factories import label_class
from tests.labeler.training_helpers import run
from tests.workers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

PAUSE_LIMIT_S = 60  # how long the switch stays open at most, should the test hang


@pytest.fixture
def dataset(training_here, no_label_trigger):
    policy = TrainingPolicy.current()
    policy.queue_size = 40
    policy.save()
    return demo_data_import(rows=800, features=6, fraud_rate=0.03, seed=4).dataset


def switch_held_open(monkeypatch):
    """Runs the next training run in a thread whose activation pauses inside its transaction
    (after the queue was replaced) until `release` is set."""
    inside, release = threading.Event(), threading.Event()
    swap = activation.queue_swap

    def pause(*, dataset, version):
        counts = swap(dataset=dataset, version=version)
        inside.set()
        release.wait(timeout=PAUSE_LIMIT_S)
        return counts

    monkeypatch.setattr(activation, "queue_swap", pause)
    return inside, release


def in_thread(work, outcome: dict, name: str) -> threading.Thread:
    def target():
        try:
            outcome[name] = work()
        finally:
            connection.close()  # each thread had its own connection

    thread = threading.Thread(target=target)
    thread.start()
    return thread


def waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def test_an_answer_goes_through_while_the_switch_is_open(dataset, bob, dora, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite locks the whole database for any write: the PostgreSQL run covers it")
    first = run(dataset)
    held = queue_next_item(user=bob)
    assert held is not None
    inside, release = switch_held_open(monkeypatch)
    outcome = {}
    runner = in_thread(lambda: run(dataset), outcome, "second")
    try:
        assert inside.wait(timeout=PAUSE_LIMIT_S), "the second run never reached its switch"
        answer = in_thread(
            lambda: (
                label_submit(
                    user=bob,
                    transaction_id=held.transaction_id,
                    label_class=label_class("legit"),
                    request_token="during-the-switch",
                ).label
            ),
            outcome,
            "label",
        )
        answer.join(timeout=20)
        # Recorded while the switch is still open: the answer did not wait for its commit.
        assert not answer.is_alive(), "the answer waited for the switch"
        assert not release.is_set()
        # Every free item is being replaced: a pick now waits for the new queue instead of
        # finding the queue empty.
        pick = in_thread(lambda: queue_next_item(user=dora), outcome, "next")
        wait_until(lambda: "next" in outcome or waiting_on_a_lock(), timeout=20, what="the pick")
        assert "next" not in outcome, f"served {outcome['next']} from the queue being replaced"
    finally:
        release.set()
        runner.join(timeout=PAUSE_LIMIT_S)
    pick.join(timeout=20)
    second = outcome["second"]
    assert second.status == ModelVersion.Status.ACTIVE
    label = outcome["label"]
    # The answer records what bob was shown: the first version's suggestion.
    assert label.suggested_by_id == first.pk == held.model_version_id
    assert label.suggested_class_id == held.suggested_class_id
    assert Label.objects.filter(transaction_id=held.transaction_id).count() == 1
    assert not QueueEntry.objects.filter(transaction_id=held.transaction_id).exists()
    served = outcome["next"]
    assert served is not None and served.model_version_id == second.pk
