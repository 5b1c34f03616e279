"""The queue of items annotators see next: replaced by each activated model version."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from django.db import connection
from django.utils import timezone

from labeler.models import (
    Dataset,
    Label,
    ModelVersion,
    PlannedQueueEntry,
    QueueEntry,
    ReviewItem,
    Transaction,
)
from labeler.services.sql_names import quoted_column, quoted_table
from labeler.services.write_batches import columns_insert_batched

PLAN_CHUNK_ROWS = 25_000  # planned entries per transaction while a run stages its queue


@dataclass
class QueuePlan:
    transaction_ids: np.ndarray
    priorities: np.ndarray
    reasons: list[str]
    # The suggestion each item is shown with: the planning version's fraud probability, its
    # suggested class ids (None: nothing suggested, at cold start) and the audit's inclusion
    # probabilities (NaN outside the frame). A plan without scores shows each item with its
    # transaction's latest scores.
    scores: np.ndarray | None = None
    suggested_class_ids: np.ndarray | None = None
    audit_inclusion: np.ndarray | None = None
    # Per item, its reasons as JSON text (None: not explained); None: no item is.
    explanations: list[str | None] | None = None


def queue_top_priority() -> float:
    """A priority above every queued item: for items that must be shown next."""
    top = QueueEntry.objects.order_by("-priority").values_list("priority", flat=True).first()
    return (top or 0.0) + 1.0


def queue_plan_stage(*, version: ModelVersion, plan: QueuePlan) -> None:
    """Writes the version's planned queue beside the live one, for `queue_swap`; nothing
    annotators see changes. Outside a transaction it writes in batches of their own (short ones
    on SQLite, where answers wait for each: write_batches.py); a plan cut short belongs to a run
    that never activates, and is dropped with it."""
    PlannedQueueEntry.objects.filter(model_version=version).delete()
    transaction_ids = np.asarray(plan.transaction_ids, dtype=np.int64)
    priorities = np.asarray(plan.priorities, np.float64)
    if plan.scores is None:  # a plan made outside a run: each item as its row is scored now
        latest = Transaction.objects.in_bulk(transaction_ids.tolist())
        PlannedQueueEntry.objects.bulk_create(
            [
                PlannedQueueEntry(
                    model_version=version,
                    transaction_id=int(transaction_id),
                    priority=float(priority),
                    reason=reason,
                    score=latest[int(transaction_id)].score,
                    suggested_class_id=latest[int(transaction_id)].suggested_class_id,
                    audit_inclusion=latest[int(transaction_id)].audit_inclusion,
                )
                for transaction_id, priority, reason in zip(
                    transaction_ids, priorities, plan.reasons, strict=True
                )
            ],
            batch_size=500,
        )
        return
    suggested, inclusion = plan.suggested_class_ids, plan.audit_inclusion
    columns = {
        "model_version": version.pk,
        "transaction": transaction_ids,
        "priority": priorities,
        "reason": list(plan.reasons),
        "score": np.asarray(plan.scores, np.float64),
        # None at cold start: nothing is suggested.
        "suggested_class": None if suggested is None else np.asarray(suggested, np.int64),
        "audit_inclusion": None if inclusion is None else np.asarray(inclusion, np.float64),
        "explanation": plan.explanations,
    }
    columns_insert_batched(
        PlannedQueueEntry, columns, rows=len(transaction_ids), batch=PLAN_CHUNK_ROWS
    )


def queue_swap(*, dataset: Dataset, version: ModelVersion) -> dict[str, int]:
    """Makes the dataset's queue the version's staged plan, minus items labeled meanwhile or
    waiting for a reviewer, plus the second opinions reviewers asked for, the arrivals queued
    since (`arrivals`: they wait for an answer, whichever version planned the queue) and the
    items an annotator holds right now. Call inside the activation transaction.

    A few statements, whatever the queue's size, all done by the database: every entry nobody
    holds goes, and the plan's entries come in with their suggestions. It writes queue entries
    only, so an answer being recorded meanwhile waits for nothing it does not touch. An entry
    someone holds is left exactly as it is, with the suggestion on their screen, until they
    answer it, skip it or the lease ends, even if the plan drops it: their answer is recorded."""
    statements = _swap_statements(connection.vendor)
    moment = connection.ops.adapt_datetimefield_value(timezone.now())
    staying = [QueueEntry.Reason.SECOND_OPINION.value, QueueEntry.Reason.ARRIVAL.value]
    with connection.cursor() as cursor:
        cursor.execute(statements["planned_in_queue"], [*staying, version.pk])
        (kept,) = cursor.fetchone()
        deleted = 0
        for statement in ("free_delete", "free_unscored_delete"):
            cursor.execute(statements[statement], [*staying, moment, dataset.pk])
            deleted += cursor.rowcount
        cursor.execute(statements["planned_in_queue"], [*staying, version.pk])
        (held,) = cursor.fetchone()
        cursor.execute(
            statements["insert"],
            [moment, version.pk, Label.Status.ACTIVE.value],
        )
        inserted = cursor.rowcount
    return {
        "queued": inserted + held,
        "kept": kept,  # in the queue before and after
        "removed": deleted - (kept - held),
    }


def queue_replace(*, dataset: Dataset, version: ModelVersion, plan: QueuePlan) -> dict[str, int]:
    """`queue_plan_stage` and `queue_swap` at once, for a plan held in memory."""
    queue_plan_stage(version=version, plan=plan)
    counts = queue_swap(dataset=dataset, version=version)
    queue_plan_drop(version_ids=[version.pk])
    return counts


def queue_plan_drop(*, version_ids) -> None:
    PlannedQueueEntry.objects.filter(model_version_id__in=version_ids).delete()


@lru_cache(maxsize=4)
def _swap_statements(vendor: str) -> dict[str, str]:
    queue, plan, column = quoted_table(QueueEntry), quoted_table(PlannedQueueEntry), quoted_column
    row, reason = column(QueueEntry, "transaction"), column(QueueEntry, "reason")
    holder, expires = column(QueueEntry, "leased_to"), column(QueueEntry, "lease_expires_at")
    entry_version = column(QueueEntry, "model_version")
    planned_row, planned_version = (
        column(PlannedQueueEntry, "transaction"),
        column(PlannedQueueEntry, "model_version"),
    )
    copied = [
        "priority",
        "reason",
        "model_version",
        "score",
        "suggested_class",
        "audit_inclusion",
        "explanation",
    ]
    label, item = Label, ReviewItem
    return {
        # Entries a swap may replace (not second opinions, nor arrivals) that the plan holds.
        "planned_in_queue": (
            f"SELECT COUNT(*) FROM {queue} q WHERE q.{reason} NOT IN (%s, %s) AND EXISTS (SELECT 1 "
            f"FROM {plan} p WHERE p.{planned_version} = %s AND p.{planned_row} = q.{row})"
        ),
        # Every entry nobody holds, of the dataset's versions: found through the version
        # (an index), not each entry's transaction (a heap read per entry: 125-260 ms for 14k
        # entries on PostgreSQL, while every picker waits) ...
        "free_delete": (
            f"DELETE FROM {queue} WHERE {reason} NOT IN (%s, %s) "
            f"AND ({holder} IS NULL OR {expires} < %s) "
            f"AND {entry_version} IN (SELECT v.{column(ModelVersion, 'id')} "
            f"FROM {quoted_table(ModelVersion)} v WHERE v.{column(ModelVersion, 'dataset')} = %s)"
        ),
        # ... and the few that no version scored (an undone label's item put back unscored).
        "free_unscored_delete": (
            f"DELETE FROM {queue} WHERE {reason} NOT IN (%s, %s) "
            f"AND ({holder} IS NULL OR {expires} < %s) AND {entry_version} IS NULL "
            f"AND EXISTS (SELECT 1 FROM {quoted_table(Transaction)} t "
            f"WHERE t.{column(Transaction, 'id')} = {queue}.{row} "
            f"AND t.{column(Transaction, 'dataset')} = %s)"
        ),
        "insert": (
            f"INSERT INTO {queue} ({row}, {', '.join(column(QueueEntry, c) for c in copied)}, "
            f"{column(QueueEntry, 'created_at')}) "
            f"SELECT p.{planned_row}, "
            f"{', '.join('p.' + column(PlannedQueueEntry, c) for c in copied)}, %s "
            f"FROM {plan} p WHERE p.{planned_version} = %s "
            # Not what someone holds or a reviewer sent back (those stay as they are) ...
            f"AND NOT EXISTS (SELECT 1 FROM {queue} q WHERE q.{row} = p.{planned_row}) "
            # ... nor what was labeled meanwhile ...
            f"AND NOT EXISTS (SELECT 1 FROM {quoted_table(label)} l "
            f"WHERE l.{column(label, 'transaction')} = p.{planned_row} "
            f"AND l.{column(label, 'status')} = %s) "
            # ... nor what waits for a reviewer: one human queue at a time.
            f"AND NOT EXISTS (SELECT 1 FROM {quoted_table(item)} r "
            f"WHERE r.{column(item, 'transaction')} = p.{planned_row} "
            f"AND r.{column(item, 'resolved_at')} IS NULL)"
        ),
    }
