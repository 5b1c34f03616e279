"""Leases, request tokens, undo and races: no label lost, none duplicated."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labeler.models import Label, ModelVersion, QueueEntry
from labeler.services.labeling import (
    LabelRefused,
    label_submit,
    label_undo,
    queue_lease_release,
    queue_next_item,
)
from tests.factories import (
    DatasetFactory,
    ModelVersionFactory,
    TransactionFactory,
    label_class,
    queue_entry,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_training(monkeypatch):
    monkeypatch.setattr(
        "labeler.services.training_runs.training_request_if_due", lambda **kwargs: None
    )


@pytest.fixture
def queue():
    """Three queued items, scored by an active version that suggests legit for all."""
    dataset = DatasetFactory(name="queue")
    version = ModelVersionFactory(dataset=dataset, status=ModelVersion.Status.ACTIVE)
    entries = []
    for priority in (3.0, 2.0, 1.0):
        transaction = TransactionFactory(
            import_batch__dataset=dataset,
            score=0.1,
            suggested_class=label_class("legit"),
            scored_by=version,
        )
        entries.append(queue_entry(transaction, priority=priority, reason="audit"))
    return entries


def submit(user, entry, name="legit", token="t1"):
    return label_submit(
        user=user,
        transaction_id=entry.transaction_id,
        label_class=label_class(name),
        request_token=token,
    )


def test_items_are_leased_one_annotator_at_a_time_by_priority(queue, bob, charlie):
    first = queue_next_item(user=bob)
    assert first == queue[0] and first.leased_to == bob
    assert queue_next_item(user=bob) == queue[0]  # held: the same item again
    assert queue_next_item(user=bob, exclude=(queue[0].transaction_id,)) == queue[1]
    assert queue_next_item(user=charlie) == queue[2]  # bob holds the first two
    assert queue_next_item(user=charlie, exclude=(queue[2].transaction_id,)) is None


def test_an_expired_lease_comes_back_to_the_queue(queue, bob, charlie):
    queue_next_item(user=bob)
    QueueEntry.objects.filter(pk=queue[0].pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert queue_next_item(user=charlie) == queue[0]
    queue[0].refresh_from_db()
    assert queue[0].leased_to == charlie


def test_a_double_press_or_retried_request_records_one_label(queue, bob):
    first = submit(bob, queue[0], token="press-1")
    again = submit(bob, queue[0], token="press-1")
    assert first.created and not again.created and again.label == first.label
    assert Label.objects.count() == 1
    label = first.label
    assert label.decision == "confirm" and label.queue_reason == "audit"
    assert label.suggested_probability == pytest.approx(0.9)
    assert not QueueEntry.objects.filter(pk=queue[0].pk).exists()


def test_a_second_answer_from_the_same_annotator_needs_an_undo(queue, bob):
    submit(bob, queue[0], token="a")
    with pytest.raises(LabelRefused, match="press u to undo"):
        submit(bob, queue[0], name="fraud", token="b")
    assert Label.objects.count() == 1


def test_when_two_annotators_answer_one_item_the_first_wins_and_the_second_is_told(
    queue, bob, charlie
):
    submit(bob, queue[0], name="fraud", token="bob-1")
    with pytest.raises(LabelRefused, match=r"bob labeled transaction .* a moment ago"):
        submit(charlie, queue[0], token="charlie-1")
    assert list(Label.objects.values_list("annotator__username", "label_class__name")) == [
        ("bob", "fraud")
    ]


def test_undo_supersedes_the_label_and_brings_the_item_back_to_the_annotator(queue, bob):
    first = submit(bob, queue[0], name="legit", token="a").label
    submit(bob, queue[1], name="legit", token="b")
    undone = label_undo(user=bob)
    assert undone.transaction_id == queue[1].transaction_id
    undone.refresh_from_db()
    assert undone.status == "superseded"
    back = queue_next_item(user=bob)
    assert back.transaction_id == queue[1].transaction_id and back.leased_to == bob
    again = submit(bob, back, name="fraud", token="c").label
    assert again.supersedes == undone and again.decision == "reject"
    assert Label.objects.count() == 3  # history kept
    first.refresh_from_db()
    assert first.status == "active"


def test_undo_is_limited_to_the_session(queue, bob):
    submit(bob, queue[0], token="a")
    assert label_undo(user=bob, since=timezone.now() + timedelta(seconds=1)) is None


def test_skip_gives_the_item_back_at_once(queue, bob, charlie):
    queue_next_item(user=bob)
    queue_lease_release(user=bob, transaction_id=queue[0].transaction_id)
    assert queue_next_item(user=charlie) == queue[0]


def test_cold_start_items_have_no_suggestion_and_record_a_manual_label(bob):
    transaction = TransactionFactory()
    queue_entry(transaction, priority=1, reason="cold_start")
    outcome = label_submit(
        user=bob,
        transaction_id=transaction.pk,
        label_class=label_class("fraud"),
        request_token="x",
    )
    assert outcome.label.decision == "manual" and outcome.label.suggested_probability is None


def test_a_submission_without_a_token_is_refused(queue, bob):
    with pytest.raises(LabelRefused, match="request token"):
        submit(bob, queue[0], token="")
    assert not Label.objects.exists()
