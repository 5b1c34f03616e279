"""The training set read from the database: who wins, what is left out, what is never read."""

import numpy as np
import pytest
from django.db import transaction

from labeler.models import Label, ModelVersion, ReferenceLabel, Review
from labeler.services.review import transaction_review
from labeler.services.training_data import (
    TrainingDataError,
    learning_sample,
    model_input,
    training_arrays_build,
)
from tests.factories import (
    DatasetFactory,
    LabelFactory,
    ModelVersionFactory,
    PseudoLabelFactory,
    TransactionFactory,
    label_class,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    dataset = DatasetFactory(name="train")
    return [
        TransactionFactory(
            import_batch__dataset=dataset,
            features=np.array([i, -i, 2 * i], dtype="<f4").tobytes(),
            amount=float(i),
        )
        for i in range(6)
    ]


def labels_by_transaction(arrays) -> dict[int, int]:
    ids = arrays.transaction_ids[arrays.labeled]
    return dict(zip(ids.tolist(), arrays.label_codes.tolist(), strict=True))


def test_features_come_back_in_id_order_with_amount_and_time(rows):
    arrays = training_arrays_build(dataset=rows[0].dataset)
    assert arrays.transaction_ids.tolist() == [t.pk for t in rows]
    assert arrays.features[3].tolist() == [3.0, -3.0, 6.0]
    assert arrays.amount.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert arrays.labeled.size == 0 and arrays.previous_scores is None


def test_a_reviewer_overrule_wins_over_the_annotator(rows, alice, bob):
    label = LabelFactory(transaction=rows[1], annotator=bob, label_class=label_class("legit"))
    LabelFactory(transaction=rows[2], annotator=bob, label_class=label_class("legit"))
    with transaction.atomic():
        transaction_review(
            reviewer=alice, transaction_id=rows[1].pk, label_class=label_class("fraud")
        )
    label.refresh_from_db()
    assert label.status == Label.Status.OVERRULED
    arrays = training_arrays_build(dataset=rows[0].dataset)
    assert labels_by_transaction(arrays) == {rows[1].pk: 1, rows[2].pk: 0}
    assert arrays.counts["positives"] == 1


def test_annotators_who_disagree_leave_the_item_out_until_reviewed(rows, alice, bob, dora):
    LabelFactory(transaction=rows[3], annotator=alice, label_class=label_class("fraud"))
    LabelFactory(transaction=rows[3], annotator=bob, label_class=label_class("legit"))
    arrays = training_arrays_build(dataset=rows[0].dataset)
    assert rows[3].pk not in labels_by_transaction(arrays)
    assert arrays.transaction_ids[arrays.excluded].tolist() == [rows[3].pk]
    assert arrays.human_labeled.sum() == 1  # not a queue candidate either
    with transaction.atomic():
        transaction_review(
            reviewer=dora, transaction_id=rows[3].pk, label_class=label_class("fraud")
        )
    arrays = training_arrays_build(dataset=rows[0].dataset)
    assert labels_by_transaction(arrays) == {rows[3].pk: 1}
    assert arrays.excluded.size == 0


def test_a_withdrawn_verdict_no_longer_counts(rows, alice, bob):
    LabelFactory(transaction=rows[1], annotator=bob, label_class=label_class("legit"))
    with transaction.atomic():
        reviews = transaction_review(
            reviewer=alice, transaction_id=rows[1].pk, label_class=label_class("fraud")
        )
    Review.objects.filter(pk__in=[r.pk for r in reviews]).update(status=Review.Status.WITHDRAWN)
    Label.objects.filter(transaction=rows[1]).update(status=Label.Status.ACTIVE)
    assert labels_by_transaction(training_arrays_build(dataset=rows[0].dataset)) == {rows[1].pk: 0}


def test_a_spot_checked_pseudo_label_trains_with_the_reviewer_class(rows, alice):
    active = ModelVersionFactory(dataset=rows[0].dataset, status=ModelVersion.Status.ACTIVE)
    pseudo = PseudoLabelFactory(transaction=rows[4], model_version=active, weight=0.3)
    with transaction.atomic():
        transaction_review(
            reviewer=alice,
            transaction_id=rows[4].pk,
            label_class=label_class("fraud"),
            pseudo_label=pseudo,
        )
    arrays = training_arrays_build(dataset=rows[0].dataset)
    assert labels_by_transaction(arrays) == {rows[4].pk: 1}  # a human word now, at full weight
    assert arrays.pseudo_rows.size == 0


def test_superseded_labels_and_reference_labels_never_reach_training(rows, bob):
    LabelFactory(
        transaction=rows[0],
        annotator=bob,
        label_class=label_class("fraud"),
        status=Label.Status.SUPERSEDED,
    )
    for row in rows:
        ReferenceLabel.objects.create(transaction=row, label_class=label_class("fraud"))
    arrays = training_arrays_build(dataset=rows[0].dataset)
    assert arrays.labeled.size == 0
    assert arrays.counts["positives"] == 0


def test_pseudo_labels_come_from_the_active_version_only_and_never_for_human_labeled_rows(
    rows, bob
):
    active = ModelVersionFactory(dataset=rows[0].dataset, status=ModelVersion.Status.ACTIVE)
    old = ModelVersionFactory(dataset=rows[0].dataset, status=ModelVersion.Status.READY)
    PseudoLabelFactory(transaction=rows[4], model_version=active, weight=0.3)
    PseudoLabelFactory(transaction=rows[5], model_version=active, weight=0.3)
    PseudoLabelFactory(transaction=rows[0], model_version=old)
    LabelFactory(transaction=rows[5], annotator=bob, label_class=label_class("fraud"))
    arrays = training_arrays_build(dataset=rows[0].dataset)
    assert arrays.transaction_ids[arrays.pseudo_rows].tolist() == [rows[4].pk]
    assert arrays.pseudo_weight == pytest.approx(0.3)


def test_rows_of_the_audit_frame_never_train_and_their_answers_come_apart(rows, bob):
    frame = rows[:2]
    for number, row in zip([0.2, 0.7], frame, strict=True):
        row.audit_number, row.audit_inclusion = number, 0.5
        row.save()
    LabelFactory(
        transaction=rows[0], annotator=bob, queue_reason="audit", label_class=label_class("fraud")
    )
    LabelFactory(transaction=rows[2], annotator=bob, queue_reason="uncertain")
    active = ModelVersionFactory(dataset=rows[0].dataset, status=ModelVersion.Status.ACTIVE)
    PseudoLabelFactory(transaction=rows[1], model_version=active)  # never for a frame row
    arrays = training_arrays_build(dataset=rows[0].dataset)
    assert labels_by_transaction(arrays) == {rows[2].pk: 0}
    assert arrays.transaction_ids[arrays.audit_rows].tolist() == [rows[0].pk]
    assert arrays.audit_codes.tolist() == [1]
    assert arrays.frame.tolist() == [True, True, False, False, False, False]
    assert arrays.learning_rows.tolist() == [2, 3, 4, 5]
    assert arrays.audit_inclusion.tolist() == [0.5, 0.5, 0, 0, 0, 0]
    assert arrays.pseudo_rows.size == 0
    assert arrays.human_labeled.tolist() == [True, False, True, False, False, False]
    counts = arrays.counts
    assert (counts["human_labels"], counts["training_labels"], counts["audit_labels"]) == (2, 1, 1)
    assert (counts["positives"], counts["audit_positives"], counts["audit_frame"]) == (0, 1, 2)


def test_label_classes_the_model_cannot_use_are_a_clear_error(rows):
    label_class("fraud").__class__.objects.filter(name="fraud").update(is_positive=False)
    with pytest.raises(TrainingDataError, match="exactly one label class must be marked positive"):
        training_arrays_build(dataset=rows[0].dataset)


def test_a_window_learns_from_the_last_days_and_every_label_people_gave(bob):
    from labeler.models import ReviewItem

    day = 86_400.0
    dataset = DatasetFactory(name="window")

    def row(days: float, **fields):
        return TransactionFactory(
            import_batch__dataset=dataset,
            time=days * day,
            features=np.zeros(3, dtype="<f4").tobytes(),
            **fields,
        )

    old, old_labeled, old_audited = row(1), row(2), row(3, audit_number=0.01)
    old_pseudo, old_in_review = row(4), row(5)
    recent = [row(8), row(9, audit_number=0.02), row(10)]
    LabelFactory(transaction=old_labeled, annotator=bob, label_class=label_class("fraud"))
    LabelFactory(transaction=old_audited, annotator=bob, label_class=label_class("legit"))
    LabelFactory(transaction=recent[1], annotator=bob, label_class=label_class("legit"))
    active = ModelVersionFactory(dataset=dataset, status=ModelVersion.Status.ACTIVE)
    PseudoLabelFactory(transaction=old_pseudo, model_version=active)
    ReviewItem.objects.create(transaction=old_in_review, reason="rejected_confident")

    everything = training_arrays_build(dataset=dataset)
    assert len(everything.transaction_ids) == 8 and everything.counts["window_days"] == 0
    windowed = training_arrays_build(dataset=dataset, window_days=3)
    # The last three days before the newest transaction, and the old row people labeled; the
    # old audit answer leaves with its frame row, and old pseudo-labels and reviews with theirs.
    assert windowed.transaction_ids.tolist() == [old_labeled.pk, *[r.pk for r in recent]]
    assert labels_by_transaction(windowed) == {old_labeled.pk: 1}
    assert windowed.transaction_ids[windowed.audit_rows].tolist() == [recent[1].pk]
    assert windowed.pseudo_rows.size == 0 and windowed.in_review.size == 0
    assert windowed.counts["human_labels"] == 2 and windowed.counts["window_days"] == 3
    assert old.pk not in windowed.transaction_ids


def test_a_sample_keeps_every_labeled_and_pseudo_labeled_row_and_draws_the_rest(rows, bob):
    active = ModelVersionFactory(dataset=rows[0].dataset, status=ModelVersion.Status.ACTIVE)
    PseudoLabelFactory(transaction=rows[4], model_version=active)
    LabelFactory(transaction=rows[1], annotator=bob, label_class=label_class("fraud"))
    rows[0].audit_number, rows[0].audit_inclusion = 0.3, 0.5  # the frame never trains
    rows[0].save()
    arrays = training_arrays_build(dataset=rows[0].dataset)
    assert learning_sample(arrays, unlabeled=0, seed=0).tolist() == [1, 2, 3, 4, 5]
    assert learning_sample(arrays, unlabeled=3, seed=0).tolist() == [1, 2, 3, 4, 5]  # all fit
    drawn = [learning_sample(arrays, unlabeled=1, seed=seed).tolist() for seed in range(12)]
    others = []
    for sample in drawn:  # the labeled row and the pseudo-labeled one, and one other
        assert len(sample) == 3 and {1, 4} <= set(sample) and sample == sorted(sample)
        others += set(sample) - {1, 4}
    assert drawn[0] == learning_sample(arrays, unlabeled=1, seed=0).tolist()  # seeded
    assert set(others) <= {2, 3, 5} and len(set(others)) > 1  # drawn at random from the rest


def test_only_the_sampled_rows_inputs_are_read_a_range_of_ids_at_a_time(rows, bob):
    active = ModelVersionFactory(dataset=rows[0].dataset, status=ModelVersion.Status.ACTIVE)
    PseudoLabelFactory(transaction=rows[4], model_version=active)
    LabelFactory(transaction=rows[1], annotator=bob, label_class=label_class("fraud"))
    rows[0].audit_number, rows[0].audit_inclusion = 0.3, 0.5
    rows[0].save()
    arrays = training_arrays_build(dataset=rows[0].dataset, unlabeled_sample=1, chunk_rows=2)
    # Every row's marks; the inputs of the labeled, the pseudo-labeled and one drawn row only.
    assert len(arrays.transaction_ids) == 6 and arrays.frame.tolist()[0]
    assert arrays.read.tolist() == arrays.learning.tolist() and len(arrays.read) == 3
    assert {1, 4} <= set(arrays.read.tolist()) and 0 not in arrays.read
    assert arrays.features.tolist() == [[i, -i, 2 * i] for i in arrays.read.tolist()]
    assert arrays.amount.tolist() == [float(i) for i in arrays.read.tolist()]
    assert arrays.counts["read"] == 3
    assert model_input(arrays, arrays.labeled).shape == (1, 3 + 3)
    with pytest.raises(ValueError, match="not read"):
        model_input(arrays, np.asarray([0]))  # the frame row: scored in shards, never read here
