"""The invariants the database itself enforces, whatever code writes the rows."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from labeler.models import Label, ModelVersion, QueueEntry, Review, ReviewItem
from tests.factories import (
    DatasetFactory,
    LabelFactory,
    ModelVersionFactory,
    PseudoLabelFactory,
    TransactionFactory,
    label_class,
)

pytestmark = pytest.mark.django_db


def refused(**kwargs):
    return pytest.raises(IntegrityError, **kwargs)


def test_external_id_is_unique_per_dataset_only():
    first = TransactionFactory(external_id="42")
    TransactionFactory(external_id="42")  # another dataset: allowed
    with refused(), transaction.atomic():
        TransactionFactory(external_id="42", import_batch=first.import_batch)


@pytest.mark.parametrize("score", [-0.01, 1.01])
def test_scores_are_probabilities(score):
    with refused(), transaction.atomic():
        TransactionFactory(score=score)


def test_one_active_label_per_transaction_and_annotator(bob, charlie):
    tx = TransactionFactory()
    LabelFactory(transaction=tx, annotator=bob)
    LabelFactory(transaction=tx, annotator=charlie)  # a second opinion is another annotator
    LabelFactory(transaction=tx, annotator=bob, status=Label.Status.SUPERSEDED)  # history stays
    with refused(), transaction.atomic():
        LabelFactory(transaction=tx, annotator=bob)


def test_one_active_imported_label_per_transaction():
    tx = TransactionFactory()
    LabelFactory(transaction=tx, decision=Label.Decision.IMPORTED)
    with refused(), transaction.atomic():
        LabelFactory(transaction=tx, decision=Label.Decision.IMPORTED)


def test_human_decisions_name_their_annotator():
    with refused(), transaction.atomic():
        LabelFactory(annotator=None, decision=Label.Decision.CONFIRM)


def test_a_request_token_records_one_label(bob):
    tx = TransactionFactory()
    LabelFactory(transaction=tx, annotator=bob, request_token="t-1", status=Label.Status.SUPERSEDED)
    with refused(), transaction.atomic():
        LabelFactory(transaction=tx, annotator=bob, request_token="t-1")


@pytest.mark.parametrize("probability", [-0.5, 1.5])
def test_suggested_and_pseudo_label_probabilities_in_unit_interval(bob, probability):
    with refused(), transaction.atomic():
        LabelFactory(annotator=bob, suggested_probability=probability)
    with refused(), transaction.atomic():
        PseudoLabelFactory(probability=probability)


def test_one_active_model_version_per_dataset():
    first, second = DatasetFactory(), DatasetFactory()
    ModelVersionFactory(dataset=first, status=ModelVersion.Status.ACTIVE)
    ModelVersionFactory(dataset=second, status=ModelVersion.Status.ACTIVE)
    ModelVersionFactory(dataset=first, status=ModelVersion.Status.READY)
    with refused(), transaction.atomic():
        ModelVersionFactory(
            dataset=first, kind=ModelVersion.Kind.SGAN, status=ModelVersion.Status.ACTIVE
        )


def test_a_review_targets_exactly_one_label_and_an_overrule_names_a_class(alice, bob):
    label = LabelFactory(annotator=bob)
    pseudo = PseudoLabelFactory()
    on_label = {"transaction": label.transaction, "reviewer": alice}
    Review.objects.create(label=label, verdict=Review.Verdict.AGREE, **on_label)
    with refused(), transaction.atomic():
        Review.objects.create(label=label, pseudo_label=pseudo, verdict="agree", **on_label)
    with refused(), transaction.atomic():
        Review.objects.create(verdict="agree", **on_label)
    with refused(), transaction.atomic():
        Review.objects.create(label=label, verdict="overrule", **on_label)
    with refused(), transaction.atomic():  # a second opinion is asked of annotators, on labels
        Review.objects.create(
            pseudo_label=pseudo, transaction=pseudo.transaction, reviewer=alice, verdict="send_back"
        )
    Review.objects.create(label=label, verdict="send_back", **on_label)
    Review.objects.create(
        pseudo_label=pseudo,
        transaction=pseudo.transaction,
        reviewer=alice,
        verdict="overrule",
        new_class=label_class("fraud"),
    )


def test_a_transaction_has_one_open_review_item_and_a_resolution_names_who_and_what(alice):
    row = TransactionFactory()
    ReviewItem.objects.create(transaction=row, reason=ReviewItem.Reason.DISAGREEMENT)
    with refused(), transaction.atomic():
        ReviewItem.objects.create(transaction=row, reason=ReviewItem.Reason.FOUR_EYES)
    with refused(), transaction.atomic():
        ReviewItem.objects.create(
            transaction=TransactionFactory(), reason="four_eyes", resolved_at=timezone.now()
        )
    with refused(), transaction.atomic():  # a spot check names the pseudo-label it checks
        ReviewItem.objects.create(transaction=TransactionFactory(), reason="spot_check")


def test_a_queue_lease_has_both_holder_and_expiry(bob):
    with refused(), transaction.atomic():
        QueueEntry.objects.create(
            transaction=TransactionFactory(), priority=1.0, reason="uncertain", leased_to=bob
        )


def test_default_classes_exist_with_hotkeys():
    legit, fraud = label_class("legit"), label_class("fraud")
    assert (legit.code, legit.position, legit.is_positive) == ("0", 0, False)
    assert (fraud.code, fraud.position, fraud.is_positive) == ("1", 1, True)
    assert legit.hotkey != fraud.hotkey
