"""Activation: the short transaction in which a finished run replaces what annotators see.

Until it commits, annotators see the previous version's queue, suggestions and pseudo-labels,
and a run killed at any point before it leaves them exactly so; after it, the queue (each item
with the new version's suggestion on its entry) and the pseudo-labels are the new version's.
The switch writes queue entries, pseudo-labels and the version flags, never a transaction row:
an answer being recorded holds its transaction's row and its own (held) entry, which the switch
does not touch, so labeling never waits for it. The new scores of every row follow right after,
in small batches of their own transactions (a label submitted meanwhile waits for one batch at
most); a copy cut short (the process killed) is finished by the next claim or worker start.
"""

from __future__ import annotations

import time

from django.db import connection, transaction
from django.utils import timezone

from labeler.errors import FraudloopError
from labeler.models import ModelVersion, PseudoLabel, StagedScore, Transaction
from labeler.services.queueing import queue_plan_drop, queue_swap
from labeler.services.review_rules import review_spot_checks_open
from labeler.services.write_batches import writers_let_in


class ActivationRefused(FraudloopError):
    """The run lost its claim while it trained (declared stale and failed): it must not win."""


COPY_BATCH_ROWS = 5000  # rows per batch transaction once the version is active


def _copy_statement(condition: str) -> str:
    """Staged scores of one version onto their transactions, for the staged rows `condition`
    picks (UPDATE ... FROM: PostgreSQL, and SQLite since 3.33)."""
    quote = connection.ops.quote_name
    target = quote(Transaction._meta.db_table)
    staged = quote(StagedScore._meta.db_table)
    return (
        f"UPDATE {target} SET score = s.score, uncertainty = s.uncertainty, "
        f"suggested_class_id = s.suggested_class_id, scored_by_id = s.model_version_id, "
        f"audit_inclusion = s.audit_inclusion FROM {staged} AS s "
        f"WHERE s.model_version_id = %s AND {target}.id = s.transaction_id AND {condition}"
    )


def _staged_range_apply(version: ModelVersion, first_id: int, last_id: int) -> int:
    """Copies and drops the version's staged scores of transactions `first_id`..`last_id`: one
    statement each, whatever the batch's size. Both tables are bounded by the range, so the
    planner walks both primary keys instead of hashing the whole dataset per batch."""
    target = connection.ops.quote_name(Transaction._meta.db_table)
    condition = f"s.transaction_id BETWEEN %s AND %s AND {target}.id BETWEEN %s AND %s"
    with connection.cursor() as cursor:
        cursor.execute(
            _copy_statement(condition), [version.pk, first_id, last_id, first_id, last_id]
        )
        copied = cursor.rowcount
    StagedScore.objects.filter(
        model_version=version, transaction_id__gte=first_id, transaction_id__lte=last_id
    ).delete()
    return copied


def activation_scores_copy(*, version: ModelVersion, batch_rows: int = COPY_BATCH_ROWS) -> int:
    """Copies the active version's remaining staged scores in batches, each in its own short
    transaction; stops if the version stops being the active one (its stage is then dropped).
    Safe to run twice or after a crash: what was copied is no longer staged."""
    copied, done_to = 0, None
    while True:
        with transaction.atomic():
            active = ModelVersion.objects.filter(
                pk=version.pk, status=ModelVersion.Status.ACTIVE
            ).exists()
            if not active:
                StagedScore.objects.filter(model_version=version).delete()
                return copied
            staged = StagedScore.objects.filter(model_version=version)
            if done_to is not None:
                # Past the batches copied so far: their deleted rows stay in the index until
                # a vacuum, and the search for the first staged row would walk them all again
                # (batches took 84 ms each at 1M rows, 150 ms at 10M).
                staged = staged.filter(transaction_id__gt=done_to)
            staged = staged.order_by("transaction_id").values_list("transaction_id", flat=True)
            first_id = staged.first()
            if first_id is None:
                return copied
            # The batch ends at the batch_rows-th staged row, or at the last one.
            last_id = next(iter(staged[batch_rows - 1 : batch_rows]), None) or staged.last()
            copied += _staged_range_apply(version, first_id, last_id)
            done_to = last_id
        writers_let_in()


def activation_copies_finish() -> int:
    """Finishes copies cut short; drops the stage of versions that are no longer active."""
    finished = ModelVersion.objects.filter(
        status__in=[ModelVersion.Status.READY, ModelVersion.Status.FAILED]
    ).values("pk")
    StagedScore.objects.filter(model_version__in=finished).delete()
    queue_plan_drop(version_ids=finished)
    versions = ModelVersion.objects.filter(
        status=ModelVersion.Status.ACTIVE, pk__in=StagedScore.objects.values("model_version")
    )
    return sum(activation_scores_copy(version=version) for version in versions)


def model_version_activate(*, version: ModelVersion) -> dict[str, int]:
    """The version's staged queue (`queueing.queue_plan_stage`), pseudo-labels (with their spot
    checks) and the active flag, all or nothing; then every row's score, in batches. The
    outcome's `switch_seconds` is how long the switching transaction was open."""
    started = time.perf_counter()
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != ModelVersion.Status.TRAINING or locked.worker != version.worker:
            raise ActivationRefused(
                f"v{version.pk} is {locked.status} now ({locked.error or 'claimed elsewhere'})"
            )
        dataset = version.dataset
        # Items a human labeled while this run trained get no pseudo-label.
        PseudoLabel.objects.filter(
            model_version=version, transaction__labels__status="active"
        ).delete()
        previous = ModelVersion.objects.filter(dataset=dataset, status=ModelVersion.Status.ACTIVE)
        previous_ids = list(previous.values_list("pk", flat=True))
        previous.update(status=ModelVersion.Status.READY)
        # Pseudo-labels a reviewer looked at stay as the record of that version's precision.
        PseudoLabel.objects.filter(model_version_id__in=previous_ids, reviews__isnull=True).delete()
        spot_checks = review_spot_checks_open(version=version)
        # A copy the previous version had not finished is moot now.
        StagedScore.objects.filter(model_version_id__in=previous_ids).delete()
        now = timezone.now()
        ModelVersion.objects.filter(pk=version.pk).update(
            status=ModelVersion.Status.ACTIVE,
            stage="active",
            progress=100,
            activated_at=now,
            finished_at=now,
            heartbeat_at=now,
        )
        # Last, so the queue's free entries (which pickers then wait for rather than skip) are
        # held for the swap's own statements only; items the spot checks above sent to review
        # stay out of it.
        queue_counts = queue_swap(dataset=dataset, version=version)
    switch_seconds = time.perf_counter() - started
    queue_plan_drop(version_ids=[version.pk])
    scored = activation_scores_copy(version=version)
    version.refresh_from_db()
    return {
        "scored": scored,
        **queue_counts,
        "spot_checks": spot_checks,
        "switch_seconds": round(switch_seconds, 3),
    }
