"""Reviewers' verdicts: what needs review, settling a transaction, undo, second opinions."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from labeler.errors import HistoryProtected
from labeler.models import Label, ModelVersion, QueueEntry, Review, ReviewItem, ReviewPolicy
from labeler.services.labeling import queue_next_item
from labeler.services.queueing import QueuePlan, queue_replace
from labeler.services.review import (
    ReviewRefused,
    label_send_back,
    review_lease_release,
    review_next_item,
    review_submit,
    review_undo,
)
from labeler.services.review_rules import review_items_refresh
from tests.factories import DatasetFactory, ModelVersionFactory, label_class
from tests.labeler.review_helpers import answer, queued

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_training(monkeypatch):
    monkeypatch.setattr(
        "labeler.services.training_runs.training_request_if_due", lambda **kwargs: None
    )


@pytest.fixture
def version():
    return ModelVersionFactory(
        dataset=DatasetFactory(name="review"), status=ModelVersion.Status.ACTIVE
    )


def verdict(user, row, name, token="v"):
    return review_submit(
        user=user, transaction_id=row.pk, label_class=label_class(name), request_token=token
    )


def test_rejecting_a_confident_suggestion_sends_the_item_to_review(version, bob):
    confident = queued(version, score=0.95)  # fraud suggested at 0.95
    unsure = queued(version, score=0.7)
    answer(bob, confident, "legit")
    answer(bob, unsure, "legit")
    items = ReviewItem.objects.all()
    assert [(i.transaction_id, i.reason) for i in items] == [(confident.pk, "rejected_confident")]


def test_the_threshold_and_four_eyes_come_from_the_policy(version, bob):
    ReviewPolicy.objects.update_or_create(
        pk=1, defaults={"confident_threshold": 0.6, "four_eyes_for_fraud": True}
    )
    unsure = queued(version, score=0.7)
    fraud = queued(version, score=0.45, suggested="legit")  # legit at 0.55: not confident
    answer(bob, unsure, "legit")
    answer(bob, fraud, "fraud")
    reasons = dict(ReviewItem.objects.values_list("transaction_id", "reason"))
    assert reasons == {unsure.pk: "rejected_confident", fraud.pk: "four_eyes"}


def test_a_verdict_reviews_every_opinion_and_marks_overruled_labels(version, bob, dora):
    row = queued(version)
    label = answer(bob, row, "legit")
    outcome = verdict(dora, row, "fraud")
    assert outcome.created
    review = Review.objects.get()
    assert (review.label, review.verdict, review.new_class) == (
        label,
        "overrule",
        label_class("fraud"),
    )
    assert review.review_item == outcome.item and review.transaction == row
    label.refresh_from_db()
    assert label.status == Label.Status.OVERRULED
    item = ReviewItem.objects.get()
    assert item.resolved_by == dora and item.resolved_class == label_class("fraud")
    assert item.leased_to is None


def test_a_repeated_verdict_records_once_and_a_late_one_is_refused(version, bob, dora, alice):
    row = queued(version)
    answer(bob, row, "legit")
    first = verdict(dora, row, "legit", token="same")
    again = verdict(dora, row, "legit", token="same")
    assert again.created is False and again.item.pk == first.item.pk
    assert Review.objects.count() == 1
    with pytest.raises(ReviewRefused, match="dora settled it"):
        verdict(alice, row, "fraud", token="other")
    assert Review.objects.count() == 1


def test_nobody_reviews_their_own_label(version, alice):
    row = queued(version)
    answer(alice, row, "legit")
    assert review_next_item(user=alice) is None
    with pytest.raises(ReviewRefused, match="another reviewer"):
        verdict(alice, row, "legit")
    assert not Review.objects.exists()


def test_items_are_leased_to_one_reviewer_and_come_back(version, bob, dora, alice):
    rows = [queued(version) for _ in range(2)]
    for index, row in enumerate(rows):
        answer(bob, row, "legit", token=f"t{index}")
    first = review_next_item(user=dora)
    assert first.transaction == rows[0] and first.leased_to == dora
    assert review_next_item(user=dora) == first  # held: the same item again
    assert review_next_item(user=alice).transaction == rows[1]  # dora holds the first
    ReviewItem.objects.filter(transaction=rows[0]).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert review_next_item(user=alice, exclude=(rows[1].pk,)).transaction == rows[0]
    review_lease_release(user=alice, transaction_id=rows[0].pk)  # skip: free at once
    assert review_next_item(user=dora).transaction == rows[0]


def test_disagreements_come_before_other_items(version, bob, charlie, dora):
    labeling_role = bob.groups.first()
    charlie.groups.add(labeling_role)
    confident = queued(version)
    answer(bob, confident, "legit")
    disputed = queued(version, score=0.5)
    first = answer(bob, disputed, "legit", token="x")
    label_send_back(reviewer=dora, label=first)
    answer(charlie, disputed, "fraud", token="y")
    assert review_next_item(user=dora).transaction == disputed


def test_undo_withdraws_the_verdict_restores_the_label_and_reopens_the_item(version, bob, dora):
    row = queued(version)
    label = answer(bob, row, "legit")
    since = timezone.now()
    verdict(dora, row, "fraud")
    item = review_undo(user=dora, since=since)
    assert item.resolved_at is None and item.leased_to == dora
    assert Review.objects.get().status == Review.Status.WITHDRAWN  # kept, not deleted
    label.refresh_from_db()
    assert label.status == Label.Status.ACTIVE
    assert review_undo(user=dora, since=since) is None  # nothing else to take back
    verdict(dora, row, "legit", token="again")
    assert Review.objects.filter(status="active").get().verdict == "agree"


def test_a_label_sent_back_gets_a_second_opinion_and_a_disagreement_comes_to_review(
    version, bob, charlie, dora
):
    charlie.groups.add(bob.groups.first())
    row = queued(version, score=0.4, suggested="legit", reason="uncertain")
    first = answer(bob, row, "legit")
    entry = label_send_back(reviewer=dora, label=first)
    assert entry.reason == QueueEntry.Reason.SECOND_OPINION
    assert queue_next_item(user=bob) is None  # not to the annotator who answered it
    # The model's next queue does not take a reviewer's request back.
    queue_replace(
        dataset=version.dataset,
        version=version,
        plan=QueuePlan(transaction_ids=[], priorities=[], reasons=[]),
    )
    assert queue_next_item(user=charlie).transaction == row
    second = answer(charlie, row, "fraud", token="c")
    assert Label.objects.filter(transaction=row, status="active").count() == 2
    assert second.queue_reason == "second_opinion"
    assert ReviewItem.objects.get(transaction=row).reason == "disagreement"
    assert Review.objects.get(label=first).verdict == "send_back"


def test_only_active_labels_go_back(version, bob, dora):
    row = queued(version)
    label = answer(bob, row, "legit")
    verdict(dora, row, "fraud")
    label.refresh_from_db()
    with pytest.raises(ReviewRefused, match="overruled"):
        label_send_back(reviewer=dora, label=label)


def test_labels_are_never_deleted(version, bob):
    label = answer(bob, queued(version), "legit")
    with pytest.raises(HistoryProtected), transaction.atomic():
        label.delete()
    with pytest.raises(HistoryProtected), transaction.atomic():
        Label.objects.all().delete()
    assert Label.objects.filter(pk=label.pk).exists()


def test_switching_four_eyes_on_reviews_earlier_frauds_and_off_takes_unheld_items_back(
    version, bob, admin_client
):
    row = queued(version, score=0.45, suggested="legit")
    answer(bob, row, "fraud")
    assert not ReviewItem.objects.exists()
    admin_client.post(
        "/admin/labeler/reviewpolicy/1/change/",  # the row exists since the first label
        {"confident_threshold": "0.9", "four_eyes_for_fraud": "on", "spot_checks_per_class": "10"},
    )
    assert ReviewPolicy.current().four_eyes_for_fraud
    assert ReviewItem.objects.get().reason == "four_eyes"
    review_rules_refresh = review_items_refresh(policy=ReviewPolicy(four_eyes_for_fraud=False))
    assert review_rules_refresh["closed"] == 1 and not ReviewItem.objects.exists()
