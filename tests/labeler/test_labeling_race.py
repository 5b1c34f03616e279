"""Two annotators answer the same item at the same instant, from two database connections:
one label is recorded, the other annotator is told, nothing is lost or duplicated. CI runs this
on PostgreSQL (row locks) as well as SQLite (the database write lock)."""

import threading

import pytest
from django.db import connection

from labeler.models import Label, QueueEntry
from labeler.services import labeling
from labeler.services.labeling import LabelRefused, label_submit
from tests.factories import TransactionFactory, label_class, queue_entry

pytestmark = pytest.mark.django_db(transaction=True)


def race(users, transaction_id, classes) -> list[object]:
    barrier = threading.Barrier(len(users))
    outcomes: list[object] = [None] * len(users)

    def answer(index):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = label_submit(
                user=users[index],
                transaction_id=transaction_id,
                label_class=label_class(classes[index]),
                request_token=f"race-{index}",
            )
        except LabelRefused as refused:
            outcomes[index] = refused
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_annotators_racing_on_one_item_record_exactly_one_label(bob, charlie, monkeypatch):
    monkeypatch.setattr(
        "labeler.services.training_runs.training_request_if_due", lambda **kwargs: None
    )
    for round_number in range(10):
        transaction = TransactionFactory()
        queue_entry(transaction, priority=1, reason="uncertain")
        outcomes = race([bob, charlie], transaction.pk, ["fraud", "legit"])
        recorded = [o for o in outcomes if isinstance(o, labeling.SubmitOutcome)]
        refused = [o for o in outcomes if isinstance(o, LabelRefused)]
        assert len(recorded) == 1 and len(refused) == 1, (round_number, outcomes)
        assert "a moment ago" in str(refused[0])
        labels = Label.objects.filter(transaction=transaction)
        assert labels.count() == 1
        assert labels.get().annotator == recorded[0].label.annotator
        assert not QueueEntry.objects.filter(transaction=transaction).exists()


def test_the_same_request_sent_twice_at_once_records_one_label(bob, monkeypatch):
    monkeypatch.setattr(
        "labeler.services.training_runs.training_request_if_due", lambda **kwargs: None
    )
    transaction = TransactionFactory()
    queue_entry(transaction, priority=1, reason="uncertain")
    barrier = threading.Barrier(2)
    results = []

    def send():
        try:
            barrier.wait(timeout=10)
            results.append(
                label_submit(
                    user=bob,
                    transaction_id=transaction.pk,
                    label_class=label_class("fraud"),
                    request_token="same-token",
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2
    assert sorted(result.created for result in results) == [False, True]
    assert results[0].label.pk == results[1].label.pk
    assert Label.objects.count() == 1
