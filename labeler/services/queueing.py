"""The queue of items annotators see next: replaced by each activated model version."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.utils import timezone

from labeler.models import Dataset, Label, ModelVersion, QueueEntry, ReviewItem, Transaction
from labeler.services.bulk_insert import columns_insert
from labeler.services.leasing import lease_available


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


def queue_top_priority() -> float:
    """A priority above every queued item: for items that must be shown next."""
    top = QueueEntry.objects.order_by("-priority").values_list("priority", flat=True).first()
    return (top or 0.0) + 1.0


def queue_replace(*, dataset: Dataset, version: ModelVersion, plan: QueuePlan) -> dict[str, int]:
    """Makes the dataset's queue the plan, minus items labeled meanwhile or waiting for a
    reviewer, plus the second opinions reviewers asked for and the items an annotator holds
    right now. Call inside the activation transaction.

    It writes queue entries only: every entry nobody holds goes (one DELETE) and the plan's are
    inserted with their suggestions (a few statements), so an answer being recorded meanwhile
    waits for nothing it does not touch. An entry someone holds is left exactly as it is, with
    the suggestion on their screen, until they answer it, skip it or the lease ends, even if the
    plan drops it: their answer is recorded."""
    transaction_ids = np.asarray(plan.transaction_ids, dtype=np.int64)
    position = {int(transaction_id): index for index, transaction_id in enumerate(transaction_ids)}
    labeled_now = set(
        Label.objects.filter(
            transaction_id__in=position.keys(), status=Label.Status.ACTIVE
        ).values_list("transaction_id", flat=True)
    )
    # One human queue at a time: what waits for a reviewer is not served to annotators.
    in_review = set(
        ReviewItem.objects.filter(
            transaction_id__in=position.keys(), resolved_at__isnull=True
        ).values_list("transaction_id", flat=True)
    )
    # Second opinions a reviewer asked for are not the model's to take back.
    current = QueueEntry.objects.filter(transaction__dataset=dataset).exclude(
        reason=QueueEntry.Reason.SECOND_OPINION
    )
    before = set(current.values_list("transaction_id", flat=True))
    current.filter(lease_available(timezone.now())).delete()
    held = set(current.values_list("transaction_id", flat=True))  # a few at most
    planned_ids = set(position)
    rows = np.asarray(
        [position[t] for t in position if t not in labeled_now | in_review | held], np.int64
    )
    _entries_insert(plan, rows, version)
    return {
        "queued": len(rows) + len(held & planned_ids),
        "kept": len(before & planned_ids),  # in the queue before and after
        "removed": len(before - planned_ids - held),
    }


def _entries_insert(plan: QueuePlan, rows: np.ndarray, version: ModelVersion) -> None:
    """The plan's entries at positions `rows`, with their suggestions."""
    transaction_ids = np.asarray(plan.transaction_ids, dtype=np.int64)[rows]
    priorities = np.asarray(plan.priorities, np.float64)[rows]
    reasons = [plan.reasons[int(row)] for row in rows]
    if plan.scores is None:  # a plan made outside a run: each item as its row is scored now
        latest = Transaction.objects.in_bulk(transaction_ids.tolist())
        QueueEntry.objects.bulk_create(
            [
                QueueEntry(
                    transaction_id=int(transaction_id),
                    priority=float(priority),
                    reason=reason,
                    **QueueEntry.suggestion_of(latest[int(transaction_id)]),
                )
                for transaction_id, priority, reason in zip(
                    transaction_ids, priorities, reasons, strict=True
                )
            ],
            batch_size=500,
        )
        return
    suggested, inclusion = plan.suggested_class_ids, plan.audit_inclusion
    if suggested is not None:
        suggested = np.asarray(suggested, np.int64)[rows]
    if inclusion is not None:
        inclusion = np.asarray(inclusion, np.float64)[rows]
    columns_insert(
        QueueEntry,
        {
            "transaction": transaction_ids,
            "priority": priorities,
            "reason": reasons,
            "created_at": timezone.now(),
            "model_version": version.pk,
            "score": np.asarray(plan.scores, np.float64)[rows],
            # None at cold start: nothing is suggested.
            "suggested_class": suggested,
            "audit_inclusion": inclusion,
        },
        rows=len(rows),
    )
