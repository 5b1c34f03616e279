"""A case: the item an annotator holds and its card's transactions, labeled with one request,
all or nothing, each label recorded individually with a shared case id, undone together."""

from unittest import mock

import pytest
from django.contrib.auth import get_user_model

from labeler.models import Label, QueueEntry
from labeler.services import labeling
from labeler.services.case_labeling import case_submit
from labeler.services.labeling import LabelRefused, label_undo, queue_next_item
from labeler.services.leasing import lease_expiry
from labeler.services.review_rules import review_item_open
from tests.factories import (
    DatasetFactory,
    ImportBatchFactory,
    LabelFactory,
    TransactionFactory,
    label_class,
    queue_entry,
)

pytestmark = pytest.mark.django_db

TOKEN = "a" * 32


@pytest.fixture
def card():
    """Twelve transactions of card c1 (the last one queued), and one of card c2."""
    dataset = DatasetFactory(name="raw")
    batch = ImportBatchFactory(dataset=dataset)
    rows = [TransactionFactory(import_batch=batch, time=float(i), card_key="c1") for i in range(12)]
    other = TransactionFactory(import_batch=batch, time=5.5, card_key="c2")
    queue_entry(rows[-1], priority=1.0, reason="likely_fraud")
    return rows, other


def test_a_case_of_ten_with_one_held_by_another_and_one_answered(card, bob, dora):
    rows, _ = card
    carol = get_user_model().objects.create_user("carol")
    fraud = label_class("fraud")
    assert queue_next_item(user=bob).transaction_id == rows[-1].pk
    held = queue_entry(rows[3], priority=0.5, reason="uncertain")
    QueueEntry.objects.filter(pk=held.pk).update(leased_to=carol, lease_expires_at=lease_expiry())
    LabelFactory(transaction=rows[4], annotator=carol, label_class=fraud)
    review_item_open(transaction_id=rows[6].pk, reason="disagreement")
    case = [row.pk for row in rows[2:11]]  # nine of the card's, and the held item

    outcome = case_submit(
        user=bob, transaction_id=rows[-1].pk, case_ids=case, label_class=fraud, request_token=TOKEN
    )
    assert outcome.created and len(outcome.labels) == 7
    assert outcome.labels[0].transaction_id == rows[-1].pk  # the held item first
    assert outcome.labels[0].queue_reason == "likely_fraud"
    assert {x.queue_reason for x in outcome.labels[1:]} == {"case"}
    assert [external for external, _ in outcome.left_out] == [
        rows[3].external_id,
        rows[4].external_id,
        rows[6].external_id,
    ]
    assert "leased to carol" in outcome.left_out[0][1]
    assert "carol labeled" in outcome.left_out[1][1]
    assert "waits for a reviewer" in outcome.left_out[2][1]  # one human queue at a time
    stored = Label.objects.filter(annotator=bob)
    assert stored.count() == 7 and {x.case_id for x in stored} == {outcome.case_id}
    assert not QueueEntry.objects.filter(transaction=rows[-1]).exists()
    assert QueueEntry.objects.get(transaction=rows[3]).leased_to == carol  # untouched

    # The same request again (a double press, a retry): the same labels, nothing new.
    again = case_submit(
        user=bob, transaction_id=rows[-1].pk, case_ids=case, label_class=fraud, request_token=TOKEN
    )
    assert not again.created and {x.pk for x in again.labels} == {x.pk for x in outcome.labels}
    assert Label.objects.filter(annotator=bob).count() == 7

    # One undo takes the whole case back; the held item returns to bob, leased.
    undone = label_undo(user=bob)
    assert undone.transaction_id == rows[-1].pk
    assert not Label.objects.filter(annotator=bob, status="active").exists()
    assert Label.objects.filter(annotator=bob, status="superseded").count() == 7
    entry = QueueEntry.objects.get(transaction=rows[-1])
    assert entry.leased_to == bob and entry.reason == "likely_fraud"
    assert not QueueEntry.objects.filter(transaction=rows[5]).exists()  # came from no queue
    assert Label.objects.get(transaction=rows[4], annotator=carol).status == "active"


def test_a_write_failing_midway_records_nothing(card, bob):
    rows, _ = card
    queue_next_item(user=bob)
    real = labeling.Label.objects.create
    calls = {"n": 0}

    def failing_create(**fields):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("the disk is full")
        return real(**fields)

    patched = mock.patch.object(labeling.Label.objects, "create", side_effect=failing_create)
    with patched, pytest.raises(RuntimeError):
        case_submit(
            user=bob,
            transaction_id=rows[-1].pk,
            case_ids=[row.pk for row in rows[:6]],
            label_class=label_class("fraud"),
            request_token=TOKEN,
        )
    assert calls["n"] == 4
    assert not Label.objects.exists()
    assert QueueEntry.objects.filter(transaction=rows[-1], leased_to=bob).exists()


def test_refused_whole_when_the_held_item_is_not_the_annotators(card, bob, dora):
    rows, other = card
    fraud = label_class("fraud")
    QueueEntry.objects.filter(transaction=rows[-1]).update(
        leased_to=dora, lease_expires_at=lease_expiry()
    )
    with pytest.raises(LabelRefused, match="leased to dora"):
        case_submit(
            user=bob,
            transaction_id=rows[-1].pk,
            case_ids=[rows[0].pk],
            label_class=fraud,
            request_token=TOKEN,
        )
    QueueEntry.objects.filter(transaction=rows[-1]).update(leased_to=None, lease_expires_at=None)
    queue_next_item(user=bob)
    with pytest.raises(LabelRefused, match="not of the card"):
        case_submit(
            user=bob,
            transaction_id=rows[-1].pk,
            case_ids=[rows[0].pk, other.pk],
            label_class=fraud,
            request_token=TOKEN,
        )
    with pytest.raises(LabelRefused, match="at most 200"):
        case_submit(
            user=bob,
            transaction_id=rows[-1].pk,
            case_ids=list(range(1, 300)),
            label_class=fraud,
            request_token=TOKEN,
        )
    assert not Label.objects.exists()


def test_a_card_less_item_has_no_case(bob):
    rows = [TransactionFactory() for _ in range(2)]
    queue_entry(rows[0], priority=1.0, reason="cold_start")
    queue_next_item(user=bob)
    with pytest.raises(LabelRefused, match="not of the card"):
        case_submit(
            user=bob,
            transaction_id=rows[0].pk,
            case_ids=[rows[1].pk],
            label_class=label_class("legit"),
            request_token=TOKEN,
        )
    outcome = case_submit(  # the held item alone is a case of one
        user=bob,
        transaction_id=rows[0].pk,
        case_ids=[],
        label_class=label_class("legit"),
        request_token=TOKEN,
    )
    assert len(outcome.labels) == 1 and outcome.labels[0].case_id == outcome.case_id
