"""Read queries shared by pages, the API and services."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from labeler.models import Dataset, Label


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
