"""One definition of "a person's label" for every count: an undone (superseded) label counts
nowhere, an overruled one still counts as the answer it was."""

import pytest
from django.db import transaction
from django.utils import timezone

from labeler.models import Label, ModelVersion, TrainingPolicy
from labeler.pages.annotate import session_stats
from labeler.pages.home import dataset_dashboard
from labeler.selectors import new_human_labels, training_overview
from labeler.services.labeling import label_submit, label_undo
from labeler.services.review import transaction_review
from tests.factories import (
    DatasetFactory,
    LabelFactory,
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


def test_undone_labels_count_nowhere_and_overruled_ones_still_do(bob, dora):
    dataset = DatasetFactory(name="counts")
    ModelVersionFactory(
        dataset=dataset, status=ModelVersion.Status.ACTIVE, training_counts={"last_label_id": 0}
    )
    started = timezone.now()
    rows = [TransactionFactory(import_batch__dataset=dataset) for _ in range(4)]
    for number, row in enumerate(rows):
        queue_entry(row, priority=10 - number, reason="uncertain")
        label_submit(
            user=bob,
            transaction_id=row.pk,
            label_class=label_class("legit"),
            request_token=f"count-{number}",
        )
    label_undo(user=bob)  # the last answer taken back: superseded, the item queued again
    with transaction.atomic():  # a reviewer overrules the first: still bob's answer
        transaction_review(
            reviewer=dora, transaction_id=rows[0].pk, label_class=label_class("fraud")
        )
    assert Label.objects.filter(status="superseded").count() == 1
    assert Label.objects.filter(status="overruled").count() == 1
    assert Label.objects.counted().count() == 3

    assert new_human_labels(dataset=dataset) == 3
    assert training_overview(dataset=dataset).new_labels == 3
    board = dataset_dashboard(dataset)
    assert board.labels_last_hour == 3 and board.labels_per_hour.peak == 3
    stats = session_stats(user=bob, since=started, dataset=dataset)
    assert stats.labels == 3
    assert stats.until_retraining == TrainingPolicy.current().min_new_labels - 3


def test_the_answer_figures_count_this_session_and_what_the_active_version_has_not_read(bob, dora):
    """The page's one-statement figures agree with the ORM's definitions: the session's labels
    and frauds (any dataset), and the labels of this dataset newer than the version's watermark
    (anyone's, not undone)."""
    dataset, other = DatasetFactory(name="figures"), DatasetFactory(name="elsewhere")
    before = timezone.now()
    read = LabelFactory(transaction__import_batch__dataset=dataset, annotator=bob)
    ModelVersionFactory(
        dataset=dataset,
        status=ModelVersion.Status.ACTIVE,
        training_counts={"last_label_id": read.pk},
    )
    LabelFactory(transaction__import_batch__dataset=dataset, annotator=bob)
    LabelFactory(
        transaction__import_batch__dataset=dataset, annotator=bob, label_class=label_class("fraud")
    )
    LabelFactory(transaction__import_batch__dataset=dataset, annotator=bob, status="superseded")
    LabelFactory(transaction__import_batch__dataset=dataset, annotator=dora)
    LabelFactory(  # imported as trusted: nobody's answer
        transaction__import_batch__dataset=dataset, decision=Label.Decision.IMPORTED
    )
    LabelFactory(transaction__import_batch__dataset=other, annotator=bob)

    stats = session_stats(user=bob, since=before, dataset=dataset)

    assert new_human_labels(dataset=dataset) == 3
    assert (stats.labels, stats.frauds) == (4, 1)
    assert stats.until_retraining == TrainingPolicy.current().min_new_labels - 3
    assert session_stats(user=dora, since=timezone.now(), dataset=dataset).labels == 0
