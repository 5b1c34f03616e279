"""Read queries shared by pages, the API and services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from labeler.models import (
    Dataset,
    Label,
    ModelVersion,
    QueueEntry,
    SynthesisRun,
    Transaction,
    memory,
)


def dataset_summaries() -> QuerySet[Dataset]:
    return Dataset.objects.annotate(
        transaction_count=Count("transactions", distinct=True),
        batch_count=Count("import_batches", distinct=True),
    ).order_by("name")


def training_labels(*, dataset: Dataset) -> QuerySet[Label]:
    """Human decisions training may learn from: active labels (annotators and trusted imports).

    Reference labels live in their own table and are deliberately not reachable from here.
    """
    return Label.objects.filter(
        Q(status=Label.Status.ACTIVE), transaction__dataset=dataset
    ).select_related("label_class")


@dataclass
class TrainingOverview:
    dataset: Dataset
    active: ModelVersion | None
    run: ModelVersion | None  # queued or training now
    last_failed: ModelVersion | None  # newer than the active version
    new_labels: int
    queued_items: int

    @property
    def running(self) -> bool:
        return self.run is not None


def new_human_labels(
    *, dataset: Dataset, active: ModelVersion | None = None, up_to: int | None = None
) -> int:
    """People's labels (`Label.objects.counted()`: an undone label does not count) written since
    the dataset's active version read its training set; with `up_to`, counting stops there (the
    label path only asks "enough yet?")."""
    if active is not None:
        watermark = Value(active.training_counts.get("last_label_id") or 0)
    else:  # the active version's watermark, read in the same query
        watermark = Coalesce(
            Subquery(
                ModelVersion.objects.filter(
                    dataset=dataset, status=ModelVersion.Status.ACTIVE
                ).values(
                    last=Cast(
                        KeyTextTransform("last_label_id", "training_counts"), BigIntegerField()
                    )
                )[:1]
            ),
            Value(0),
        )
    # Labels first, then their transaction by primary key: a join lets SQLite walk the whole
    # dataset's transactions instead (tens of milliseconds at 285k rows, on every label).
    in_dataset = Transaction.objects.filter(pk=OuterRef("transaction_id"), dataset=dataset)
    labels = Label.objects.counted().filter(id__gt=watermark).filter(Exists(in_dataset))
    if up_to is not None:
        labels = labels.order_by()[:up_to]
    return labels.count()


UNLABELED_COUNT_SECONDS = 60.0


@dataclass(frozen=True)
class UnlabeledCount:
    count: int
    counted_at: datetime


def unlabeled_count(*, dataset: Dataset) -> UnlabeledCount:
    """The dataset's transactions without an active label. Counting them reads every transaction
    of the dataset (about a second at a million rows), and the page that shows the figure, the
    empty queue, is the one annotators reload while they wait for the next version: so the
    count is kept in this process while no label anywhere has been written or undone since, for
    at most `UNLABELED_COUNT_SECONDS` (rows that arrived meanwhile are counted after that)."""
    labels = Label.objects.aggregate(
        last=Max("id"), active=Count("id", filter=Q(status=Label.Status.ACTIVE))
    )

    def count() -> UnlabeledCount:
        rows = dataset.transactions.exclude(labels__status=Label.Status.ACTIVE).count()
        return UnlabeledCount(rows, timezone.now())

    return memory.remembered(
        Transaction,
        count,
        key=("unlabeled", dataset.pk),
        seconds=UNLABELED_COUNT_SECONDS,
        version=(labels["last"], labels["active"]),
    )


def training_overview(*, dataset: Dataset) -> TrainingOverview:
    versions = ModelVersion.objects.filter(dataset=dataset)
    active = versions.filter(status=ModelVersion.Status.ACTIVE).first()
    run = (
        versions.filter(status__in=[ModelVersion.Status.TRAINING, ModelVersion.Status.QUEUED])
        .order_by("-status", "created_at")
        .first()
    )
    failed = versions.filter(status=ModelVersion.Status.FAILED)
    if active is not None:
        failed = failed.filter(created_at__gt=active.created_at)
    return TrainingOverview(
        dataset=dataset,
        active=active,
        run=run,
        last_failed=failed.order_by("-created_at").first(),
        new_labels=new_human_labels(dataset=dataset, active=active),
        queued_items=QueueEntry.objects.filter(transaction__dataset=dataset).count(),
    )


def synthesis_runs_recent(*, dataset: Dataset, limit: int = 5) -> list[SynthesisRun]:
    """The dataset's latest synthetic copies, newest first."""
    return list(SynthesisRun.objects.filter(dataset=dataset).order_by("-id")[:limit])
