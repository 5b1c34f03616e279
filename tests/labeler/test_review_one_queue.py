"""One open review item per transaction carries every reason that applies, and a transaction is
in one human queue at a time: what waits for a reviewer is not served to annotators."""

from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from labeler.models import QueueEntry, ReviewItem, ReviewPolicy
from labeler.services.labeling import label_undo
from labeler.services.queueing import QueuePlan, queue_replace
from labeler.services.review_rules import review_item_open, review_spot_checks_open
from tests.factories import DatasetFactory, ModelVersionFactory, PseudoLabelFactory, label_class
from tests.labeler.review_helpers import answer, queued

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_label_trigger")]


@pytest.fixture
def version():
    return ModelVersionFactory(dataset=DatasetFactory(name="one-queue"), status="active")


def test_a_confident_rejection_joins_the_open_spot_check_item(version, alice):
    ReviewPolicy.objects.update_or_create(pk=1, defaults={"confident_threshold": 0.9})
    row = queued(version, score=0.95)
    pseudo = PseudoLabelFactory(
        transaction=row, model_version=version, label_class=label_class("fraud")
    )
    review_spot_checks_open(version=version, per_class=5)
    # Alice, staff, labels it directly (it left the annotation queue for review).
    answer(alice, row, "legit")
    item = ReviewItem.objects.get(transaction=row, resolved_at__isnull=True)
    assert item.reason == "spot_check" and item.pseudo_label == pseudo
    assert item.also_reasons == ["rejected_confident"]
    assert item.reasons_display() == ["pseudo-label spot check", "rejected a confident suggestion"]


def test_a_reason_already_there_is_not_repeated(version):
    row = queued(version)
    assert review_item_open(transaction_id=row.pk, reason="four_eyes") is not None
    assert review_item_open(transaction_id=row.pk, reason="disagreement") is None
    assert review_item_open(transaction_id=row.pk, reason="disagreement") is None
    assert review_item_open(transaction_id=row.pk, reason="four_eyes") is None
    assert ReviewItem.objects.get().also_reasons == ["disagreement"]


def test_an_item_opened_for_review_leaves_the_annotation_queue(version, bob):
    row = queued(version)
    review_item_open(transaction_id=row.pk, reason="four_eyes")
    assert not QueueEntry.objects.filter(transaction=row).exists()


def test_a_new_queue_leaves_out_what_waits_for_a_reviewer(version):
    waiting, free = queued(version), queued(version)
    review_item_open(transaction_id=waiting.pk, reason="four_eyes")
    plan = QueuePlan(
        transaction_ids=np.array([waiting.pk, free.pk]),
        priorities=np.array([2.0, 1.0]),
        reasons=["likely_fraud", "uncertain"],
    )
    queue_replace(dataset=version.dataset, version=version, plan=plan)
    assert list(QueueEntry.objects.values_list("transaction_id", flat=True)) == [free.pk]


def test_undoing_the_label_that_opened_a_review_item_closes_it(version, bob):
    ReviewPolicy.objects.update_or_create(pk=1, defaults={"confident_threshold": 0.9})
    row = queued(version, score=0.95)
    answer(bob, row, "legit")  # rejects a confident fraud suggestion
    assert ReviewItem.objects.filter(transaction=row, resolved_at__isnull=True).exists()
    label_undo(user=bob)
    assert not ReviewItem.objects.filter(transaction=row).exists()
    assert QueueEntry.objects.get(transaction=row).leased_to == bob


def test_undo_leaves_a_spot_checked_item_with_the_reviewers(version, alice):
    row = queued(version, score=0.95)
    PseudoLabelFactory(transaction=row, model_version=version, label_class=label_class("fraud"))
    review_spot_checks_open(version=version, per_class=5)
    answer(alice, row, "fraud")
    label_undo(user=alice)
    assert ReviewItem.objects.filter(transaction=row, resolved_at__isnull=True).exists()
    assert not QueueEntry.objects.filter(transaction=row).exists()


def test_the_page_after_such_an_undo_says_so_and_serves_the_next_item(version, alice, client):
    row, following = queued(version, score=0.95), queued(version, score=0.5)
    PseudoLabelFactory(transaction=row, model_version=version, label_class=label_class("fraud"))
    review_spot_checks_open(version=version, per_class=5)
    client.force_login(alice)
    client.get(reverse("annotate"))  # the page's session starts
    answer(alice, row, "fraud")
    body = client.post(reverse("annotate_undo"), HTTP_HX_REQUEST="true").content.decode()
    assert "It is with the reviewers now" in body
    assert f'data-transaction="{following.pk}"' in body


def test_an_item_an_annotator_holds_now_outlives_a_plan_that_drops_it(version, bob):
    held, dropped = queued(version), queued(version)
    QueueEntry.objects.filter(transaction=held).update(
        leased_to=bob, lease_expires_at=timezone.now() + timedelta(minutes=5)
    )
    plan = QueuePlan(
        transaction_ids=np.array([], dtype=np.int64), priorities=np.array([]), reasons=[]
    )
    queue_replace(dataset=version.dataset, version=version, plan=plan)
    assert list(QueueEntry.objects.values_list("transaction_id", flat=True)) == [held.pk]
    assert answer(bob, held, "legit").queue_reason == "likely_fraud"  # recorded, not refused
    assert not QueueEntry.objects.filter(transaction=dropped).exists()


def test_a_new_queue_replaces_every_free_entry_of_its_dataset_and_no_other(version):
    """Free entries go whichever version planned them, or none (an undone item put back
    unscored); another dataset's queue stays as it is."""
    planned, unscored = queued(version), queued(version)
    other = ModelVersionFactory(dataset=DatasetFactory(name="other-queue"), status="active")
    elsewhere, unscored_elsewhere = queued(other), queued(other)
    QueueEntry.objects.filter(transaction=planned).update(model_version=version)
    QueueEntry.objects.filter(transaction__in=[unscored, unscored_elsewhere]).update(
        model_version=None
    )
    plan = QueuePlan(
        transaction_ids=np.array([], dtype=np.int64), priorities=np.array([]), reasons=[]
    )
    counts = queue_replace(dataset=version.dataset, version=version, plan=plan)
    assert set(QueueEntry.objects.values_list("transaction_id", flat=True)) == {
        elsewhere.pk,
        unscored_elsewhere.pk,
    }
    assert counts == {"queued": 0, "kept": 0, "removed": 2}
