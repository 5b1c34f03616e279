"""The project dashboard's figures: reads only. How the loop is doing, per dataset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.db.models import Exists, OuterRef
from django.utils import timezone

from labeler.models import (
    Dataset,
    ImportBatch,
    Label,
    LabelClass,
    ModelVersion,
    PseudoLabel,
    QueueEntry,
    ReviewItem,
    Transaction,
)
from labeler.pages.charts import BarChart, LineChart, bar_chart, line_chart
from labeler.selectors import TrainingOverview, training_overview
from labeler.services.training_data import human_classes_settled

HOURS = 24


@dataclass
class DatasetDashboard:
    dataset: Dataset
    transactions: int
    human_labeled: int  # transactions a human settled (labels, reviews) or disputes
    pseudo_labeled: int  # by the active version
    frauds_found: int  # transactions settled as the positive class by people
    waiting_for_review: int
    labels_last_hour: int
    labels_per_hour: BarChart
    learning_curve: LineChart | None
    versions: list[ModelVersion]
    overview: TrainingOverview
    arrivals: Arrivals | None = None  # None: nothing ever arrived over the ingestion API
    drift: Drift | None = None  # None: no arrival scored by the active version yet


DRIFT_MIN_ROWS = 200  # arrivals before a shift is reported: fewer make a noisy index


@dataclass
class Drift:
    version: int
    rows: int  # arrivals the active version scored
    score: float  # the fraud score's population stability index
    moved: list[tuple[str, float]]  # the inputs that moved most, with their index
    inputs: dict[str, float]  # every input's index, by its name
    shifted: bool  # enough rows, and the score or an input past modeling.drift.SHIFTED


@dataclass
class Arrivals:
    per_hour: BarChart
    today: int  # transactions that arrived since midnight (the configured time zone)
    queued_today: int  # of those, how many the active version queued for people on arrival

    @property
    def queued_share(self) -> str:
        """'2.4%' (one decimal below 10%), '' before anything arrived today."""
        if not self.today:
            return ""
        share = self.queued_today / self.today
        return f"{share:.1%}" if share < 0.1 else f"{share:.0%}"


def _labels_per_hour(dataset: Dataset, now) -> tuple[BarChart, int]:
    start = (now - timedelta(hours=HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    in_dataset = dataset.transactions.filter(pk=OuterRef("transaction_id"))
    times = (
        Label.objects.counted()
        .filter(created_at__gte=start)
        .filter(Exists(in_dataset))
        .values_list("created_at", flat=True)
    )
    counts = [0] * HOURS
    last_hour = 0
    for created in times:
        counts[min(HOURS - 1, int((created - start).total_seconds() // 3600))] += 1
        last_hour += created >= now - timedelta(hours=1)
    labels = [
        (timezone.localtime(start + timedelta(hours=i)).strftime("%H:00"), count)
        for i, count in enumerate(counts)
    ]
    return bar_chart(labels, every=4), last_hour


def _arrivals(dataset: Dataset, now) -> Arrivals | None:
    """Transactions sent to the ingestion API per hour over the last day, from the batches'
    sizes, and the share of today's that reached the annotation queue on arrival."""
    batches = ImportBatch.objects.filter(dataset=dataset, source=ImportBatch.Source.ARRIVALS)
    if not batches.exists():
        return None
    start = (now - timedelta(hours=HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    counts = [0] * HOURS
    for created, rows in batches.filter(created_at__gte=start).values_list(
        "created_at", "row_count"
    ):
        counts[min(HOURS - 1, int((created - start).total_seconds() // 3600))] += rows
    labels = [
        (timezone.localtime(start + timedelta(hours=i)).strftime("%H:00"), count)
        for i, count in enumerate(counts)
    ]
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    today = batches.filter(created_at__gte=midnight)
    arrived = Transaction.objects.filter(import_batch__in=today)
    queued = set(
        QueueEntry.objects.filter(
            reason=QueueEntry.Reason.ARRIVAL, transaction__in=arrived
        ).values_list("transaction_id", flat=True)
    ) | set(
        Label.objects.filter(
            queue_reason=QueueEntry.Reason.ARRIVAL, transaction__in=arrived
        ).values_list("transaction_id", flat=True)
    )
    return Arrivals(
        per_hour=bar_chart(
            labels, every=4, unit="arrivals", caption="transactions arrived over the API"
        ),
        today=sum(today.values_list("row_count", flat=True)),
        queued_today=len(queued),
    )


def _drift(dataset: Dataset, active: ModelVersion | None) -> Drift | None:
    """Arrivals since the active version, against the rows it trained on (modeling/drift.py),
    from the bin counts each scored batch recorded."""
    from modeling.drift import SHIFTED, stability_index

    reference = (active.metrics or {}).get("drift") if active else None
    if not reference:
        return None
    total: list[np.ndarray] | None = None
    for state in ImportBatch.objects.filter(
        dataset=dataset, source=ImportBatch.Source.ARRIVALS, drift__version=active.pk
    ).values_list("drift", flat=True):
        counts = [np.asarray(column, np.int64) for column in state["counts"]]
        total = counts if total is None else [a + b for a, b in zip(total, counts, strict=True)]
    if total is None:
        return None
    index = [
        stability_index(shares, counts.tolist())
        for shares, counts in zip(reference["shares"], total, strict=True)
    ]
    by_name: dict[str, float] = {}
    for name, value in zip(reference["columns"][1:], index[1:], strict=True):
        by_name[name] = max(value, by_name.get(name, 0.0))  # hour of day: two columns
    moved = sorted(by_name.items(), key=lambda item: -item[1])[:3]
    rows = int(total[0].sum())
    return Drift(
        version=active.pk,
        rows=rows,
        score=index[0],
        moved=moved,
        inputs=by_name,
        shifted=rows >= DRIFT_MIN_ROWS and max(index) > SHIFTED,
    )


def _learning_curve(versions: list[ModelVersion]) -> LineChart | None:
    """Average precision against the human labels given when each version trained, from the
    first version the audit could measure: the audit estimate with its interval (on
    transactions no model learned from), and, for comparison, cross-validation on the labels
    the committee chose for itself, which flatters it."""
    audit, cross = [], []
    for version in versions:
        labels = version.training_counts.get("human_labels")
        if labels is None:
            continue
        estimate = (version.metrics.get("quality") or {}).get("average_precision")
        cross_ap = (version.metrics.get("cross_validation") or {}).get("average_precision")
        if estimate is not None:
            audit.append((labels, estimate["value"], estimate["low"], estimate["high"]))
        if cross_ap is not None:
            cross.append((labels, cross_ap))
    return line_chart(
        {
            "audit estimate (90% interval)": ("#c0392b", audit),
            "on the labels the model chose (optimistic)": ("#8a94a6", cross),
        },
        x_label="human labels",
        y_label="average precision",
    )


def dataset_dashboard(dataset: Dataset) -> DatasetDashboard:
    now = timezone.now()
    settled, disputed, _ = human_classes_settled(dataset)
    positive = set(LabelClass.objects.filter(is_positive=True).values_list("pk", flat=True))
    overview = training_overview(dataset=dataset)
    trained = list(
        ModelVersion.objects.filter(
            dataset=dataset, status__in=[ModelVersion.Status.ACTIVE, ModelVersion.Status.READY]
        ).order_by("created_at", "id")
    )
    per_hour, last_hour = _labels_per_hour(dataset, now)
    return DatasetDashboard(
        dataset=dataset,
        transactions=dataset.transactions.count(),
        human_labeled=len(settled) + len(disputed),
        pseudo_labeled=PseudoLabel.objects.filter(model_version=overview.active).count()
        if overview.active
        else 0,
        frauds_found=sum(class_id in positive for class_id in settled.values()),
        waiting_for_review=ReviewItem.objects.filter(
            transaction__dataset=dataset, resolved_at__isnull=True
        ).count(),
        labels_last_hour=last_hour,
        labels_per_hour=per_hour,
        learning_curve=_learning_curve(trained),
        versions=list(
            ModelVersion.objects.filter(dataset=dataset).order_by("-created_at", "-id")[:10]
        ),
        overview=overview,
        arrivals=_arrivals(dataset, now),
        drift=_drift(dataset, overview.active),
    )
