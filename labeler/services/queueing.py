"""The queue of items annotators see next: replaced by each activated model version."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.utils import timezone

from labeler.models import Dataset, Label, ModelVersion, QueueEntry, ReviewItem
from labeler.services.leasing import lease_available


@dataclass
class QueuePlan:
    transaction_ids: np.ndarray
    priorities: np.ndarray
    reasons: list[str]


def queue_top_priority() -> float:
    """A priority above every queued item: for items that must be shown next."""
    top = QueueEntry.objects.order_by("-priority").values_list("priority", flat=True).first()
    return (top or 0.0) + 1.0


def queue_replace(*, dataset: Dataset, version: ModelVersion, plan: QueuePlan) -> dict[str, int]:
    """Makes the dataset's queue exactly the plan, minus items labeled meanwhile or waiting for
    a reviewer, plus the second opinions reviewers asked for and the items an annotator holds
    right now. Call inside the activation transaction. An entry someone holds stays with its
    lease: the annotator looking at it now can still answer it."""
    planned = {
        int(transaction_id): (float(priority), reason)
        for transaction_id, priority, reason in zip(
            plan.transaction_ids, plan.priorities, plan.reasons, strict=True
        )
    }
    labeled_now = set(
        Label.objects.filter(
            transaction_id__in=planned.keys(), status=Label.Status.ACTIVE
        ).values_list("transaction_id", flat=True)
    )
    # One human queue at a time: what waits for a reviewer is not served to annotators.
    in_review = set(
        ReviewItem.objects.filter(
            transaction_id__in=planned.keys(), resolved_at__isnull=True
        ).values_list("transaction_id", flat=True)
    )
    for transaction_id in labeled_now | in_review:
        planned.pop(transaction_id)
    # Second opinions a reviewer asked for are not the model's to take back.
    current = QueueEntry.objects.filter(transaction__dataset=dataset).exclude(
        reason=QueueEntry.Reason.SECOND_OPINION
    )
    before = set(current.values_list("transaction_id", flat=True))
    planned_ids = set(planned)
    # Every entry nobody holds goes, and what the plan keeps is written anew below: one DELETE
    # and one INSERT per 500 rows instead of an UPDATE ... CASE per row kept (seconds for a
    # large queue, all inside the switch). An item someone is looking at now stays until they
    # answer it or the lease ends, even if the plan leaves it out: their answer is recorded.
    current.filter(lease_available(timezone.now())).delete()
    held = set(current.values_list("transaction_id", flat=True))  # a few at most
    staying = list(current.filter(transaction_id__in=held & planned_ids))
    for entry in staying:
        entry.priority, entry.reason = planned.pop(entry.transaction_id)
        entry.model_version = version
    QueueEntry.objects.bulk_update(staying, ["priority", "reason", "model_version"], batch_size=500)
    QueueEntry.objects.bulk_create(
        [
            QueueEntry(
                transaction_id=transaction_id,
                priority=priority,
                reason=reason,
                model_version=version,
            )
            for transaction_id, (priority, reason) in planned.items()
        ],
        batch_size=500,
    )
    return {
        "queued": len(staying) + len(planned),
        "kept": len(before & planned_ids),  # in the queue before and after
        "removed": len(before - planned_ids - held),
    }
