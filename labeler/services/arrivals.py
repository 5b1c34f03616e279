"""Transactions scored as they arrive, without a retrain: the active version's model file (read
once per process) scores a new batch, each row with its per-card and per-merchant features from
the history already stored; the rows get its scores, and those it ranks among its likely frauds
join the annotation queue at once, ahead of the plan (second opinions still go first).

"Among its likely frauds": at least the lowest fraud probability of the version's own queued
likely-fraud picks, or, when none is left, in the top ARRIVAL_TOP_SHARE of its scores. A cold-
start version (anomaly detectors only) ranks arrivals by the same share of its anomaly ranks.
At most the policy's queue size of arrivals wait at once (per dataset): past it, the ones that
score lowest and that nobody holds leave the queue, so that annotators see the most likely
frauds of the day rather than all of them.
Rows of the audit frame are never queued here: the audit draws them by its own design.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import numpy as np
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from labeler.models import ImportBatch, ModelVersion, QueueEntry, TrainingPolicy, Transaction
from labeler.services.leasing import lease_available
from labeler.services.sql_names import quoted_column, quoted_table
from labeler.services.version_scoring import (
    stored_rows_input,
    version_bundle,
    version_explanations,
    version_scores,
)
from modeling.drift import DriftReference, drift_counts

ARRIVAL_TOP_SHARE = 0.001  # top 0.1% of a version's scores, when its likely frauds are answered
ARRIVAL_PRIORITY = 1.0  # the plan's priorities lie in [0, 1]: arrivals go before all of them


@dataclass(frozen=True)
class ArrivalOutcome:
    scored: int
    queued: int
    version_id: int | None  # None: no active version, the next run scores them
    seconds: float
    left_queue: int = 0  # waiting arrivals that scored lowest, dropped to keep the queue's size


def arrival_scores(version: ModelVersion, rows: list[tuple]) -> tuple[dict, np.ndarray]:
    """The version's scores (`version_scoring.version_scores`) of stored rows (id, time,
    amount, features), and their model input."""
    bundle = version_bundle(version)
    x = stored_rows_input(bundle, version.dataset, rows)
    return version_scores(bundle, x), x


def _score_statement() -> str:
    table, column = quoted_table(Transaction), partial(quoted_column, Transaction)
    return (
        f"UPDATE {table} SET {column('score')} = %s, {column('uncertainty')} = %s, "
        f"{column('suggested_class')} = %s, {column('scored_by')} = %s "
        f"WHERE {column('id')} = %s"
    )


def arrival_threshold(version: ModelVersion) -> float:
    """The score from which an arrival joins the queue (see the module's note)."""
    lowest = QueueEntry.objects.filter(
        model_version=version, reason=QueueEntry.Reason.LIKELY_FRAUD
    ).aggregate(lowest=Min("score"))["lowest"]
    if lowest is not None:
        return float(lowest)
    quantiles = (version.metrics or {}).get("score_quantiles")
    if version.kind == ModelVersion.Kind.AUTOENCODER or not quantiles:
        return 1.0 - ARRIVAL_TOP_SHARE  # anomaly ranks: their share is their rank
    return float(np.quantile(np.asarray(quantiles, np.float64), 1.0 - ARRIVAL_TOP_SHARE))


def arrivals_trim(dataset_id: int, *, keep: int) -> int:
    """Keeps the `keep` best-scored arrivals waiting in the dataset's queue (and any someone
    holds); the rest leave it. Returns how many left."""
    waiting = QueueEntry.objects.filter(
        reason=QueueEntry.Reason.ARRIVAL, transaction__dataset_id=dataset_id
    )
    now = timezone.now()
    held = waiting.filter(leased_to__isnull=False, lease_expires_at__gte=now).count()
    excess = list(
        waiting.filter(lease_available(now))
        .order_by("-priority", "id")
        .values_list("pk", flat=True)[max(0, keep - held) :]
    )
    return QueueEntry.objects.filter(pk__in=excess).delete()[0] if excess else 0


def arrivals_score(*, batch_id: int) -> ArrivalOutcome:
    """Scores the batch's rows with the active version and queues its likely frauds. Safe to
    run twice (a redelivered task): rows already scored by that version are left alone."""
    started = time.perf_counter()
    batch = ImportBatch.objects.select_related("dataset").get(pk=batch_id)
    # Read now, not from memory: the first batch after an activation is the new version's.
    version = ModelVersion.objects.filter(
        dataset=batch.dataset, status=ModelVersion.Status.ACTIVE
    ).first()
    if version is None or not version.artifact_path:
        return ArrivalOutcome(0, 0, None, time.perf_counter() - started)
    rows = list(
        Transaction.objects.filter(import_batch=batch)
        .exclude(scored_by=version)
        .order_by("id")
        .values_list("id", "time", "amount", "features", "audit_number")
    )
    if not rows:
        return ArrivalOutcome(0, 0, version.pk, time.perf_counter() - started)
    scores, x = arrival_scores(version, rows)
    threshold = arrival_threshold(version)
    score = np.clip(np.asarray(scores["score"], np.float64), 0.0, 1.0)
    suggested, uncertainty = scores["suggested"], scores["uncertainty"]
    updates = [
        (
            float(score[i]),
            None if uncertainty is None else float(uncertainty[i]),
            None if suggested is None else int(suggested[i]),
            version.pk,
            row[0],
        )
        for i, row in enumerate(rows)
    ]
    chosen = [
        i for i, row in enumerate(rows) if row[4] is None and score[i] >= threshold
    ]  # audit frame rows (row[4]: their audit number) are the audit's to draw
    drift = (version.metrics or {}).get("drift")
    if drift:  # the score and each input counted into the version's drift bins
        counted = drift_counts(np.column_stack([score, x]), DriftReference.from_state(drift))
    # Why the version thinks so, as for the items it plans (the card's "Why vN thinks so").
    members = scores["members"]
    explained = version_explanations(
        version_bundle(version),
        x[chosen],
        version.dataset,
        None if members is None else {name: p[chosen] for name, p in members.items()},
    )
    now = timezone.now()
    with transaction.atomic():
        # One prepared statement run per row: a third of the time of the ORM's bulk_update,
        # whose CASE expressions for 1,000 rows take longer to build than to run.
        with connection.cursor() as cursor:
            cursor.executemany(_score_statement(), updates)
        QueueEntry.objects.bulk_create(
            [
                QueueEntry(
                    transaction_id=rows[i][0],
                    priority=ARRIVAL_PRIORITY + float(score[i]) / 2,
                    reason=QueueEntry.Reason.ARRIVAL,
                    model_version=version,
                    score=float(score[i]) if suggested is not None else None,
                    suggested_class_id=None if suggested is None else int(suggested[i]),
                    explanation=explanation,
                    created_at=now,
                )
                for i, explanation in zip(chosen, explained, strict=True)
            ],
            ignore_conflicts=True,  # queued meanwhile (a swap): that entry stays
        )
        trimmed = arrivals_trim(batch.dataset_id, keep=TrainingPolicy.current().queue_size)
        if drift:
            ImportBatch.objects.filter(pk=batch.pk).update(
                drift={"version": version.pk, "counts": counted}
            )
    queued = QueueEntry.objects.filter(
        transaction_id__in=[rows[i][0] for i in chosen], reason=QueueEntry.Reason.ARRIVAL
    ).count()
    return ArrivalOutcome(
        len(rows), queued, version.pk, time.perf_counter() - started, left_queue=trimmed
    )
