"""Annotators' work: leasing the next queue item, recording a label once, skipping, undoing.

Safety rules (DESIGN.md): a queue item is leased to one annotator at a time and comes back
when the lease expires; a label is written once per (transaction, annotator, request token), so
a double key press or a retried request records one label; when two annotators answer the same
item, the first wins and the second is told so, and nothing is lost or duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from labeler.models import (
    Dataset,
    Label,
    LabelClass,
    ModelVersion,
    QueueEntry,
    Transaction,
)
from labeler.services.label_rules import (  # noqa: F401 (the callers' names for these)
    CASE,
    DIRECT,
    LabelRefused,
    LeaseHeld,
    TransactionMissing,
    label_record,
)
from labeler.services.leasing import lease_expiry, lease_release
from labeler.services.queue_lease import queue_lease_next
from labeler.services.queueing import queue_top_priority
from labeler.services.review_rules import review_items_after_undo
from labeler.services.tokens import TOKEN_RULE, token_valid
from labeler.services.training_runs import training_after_labels


@dataclass
class SubmitOutcome:
    label: Label
    created: bool  # False: the same request arrived before; this is its label


def queue_next_item(*, user, exclude: tuple[int, ...] = ()) -> QueueEntry | None:
    """The user's next item, leased to them: one they hold already (not in `exclude`), else the
    highest-priority free one they have not answered. Leases of others are respected until they
    expire."""
    # Probed per candidate through the (transaction, annotator) index, so the cost does not
    # grow with the annotator's history.
    held = queue_lease_next(user=user, exclude=tuple(exclude), now=timezone.now())
    if held is None:
        return None
    entry = QueueEntry.objects.select_related("transaction").get(pk=held)
    entry.leased_to = user
    # The dataset, the queuing version and the classes are the same few rows for every item:
    # from memory.
    item = entry.transaction
    item.dataset = Dataset.remembered(item.dataset_id)
    item.suggested_class = LabelClass.remembered(item.suggested_class_id)
    entry.suggested_class = LabelClass.remembered(entry.suggested_class_id)
    if entry.model_version_id is not None:
        entry.model_version = ModelVersion.remembered(entry.model_version_id)
    return entry


def queue_lease_release(*, user, transaction_id: int) -> None:
    """Skip: the item goes back to the queue for others at once."""
    lease_release(QueueEntry.objects.filter(transaction_id=transaction_id), user=user)


def label_submit(
    *,
    user,
    transaction_id: int,
    label_class: LabelClass,
    request_token: str,
    time_taken_ms: int | None = None,
) -> SubmitOutcome:
    """Records the user's class for the transaction, once per request token.

    The decision (confirm / reject / manual) is derived from the suggestion the item carried.
    Refused with a clear message when another annotator answered the item first, or when the
    user has an answer on it already (undo first to change it).
    """
    if not token_valid(request_token):
        raise LabelRefused(f"every submission needs a request token of {TOKEN_RULE}")
    try:
        with transaction.atomic():
            # One submitter per transaction at a time (a row lock on PostgreSQL; SQLite takes
            # the database write lock at the start of the transaction).
            item = (
                Transaction.objects.select_for_update(of=("self",))
                .select_related("queue_entry")  # its queue entry in the same read
                .filter(pk=transaction_id)
                .first()
            )
            if item is None:
                raise TransactionMissing(transaction_id)
            # Every label of the item, in one read: a handful at most. (Their annotators are
            # read only to name one in a refusal.)
            history = list(Label.objects.filter(transaction=item).order_by("-id"))
            repeated = next(
                (
                    x
                    for x in history
                    if x.annotator_id == user.pk and x.request_token == request_token
                ),
                None,
            )
            if repeated is not None:
                return SubmitOutcome(repeated, created=False)
            label = label_record(
                item,
                history,
                user=user,
                label_class=label_class,
                request_token=request_token,
                time_taken_ms=time_taken_ms,
            )
            training_after_labels(item.dataset_id)
    except IntegrityError:
        # The same token raced itself (two requests in flight): the first one's label stands.
        label = Label.objects.get(
            transaction_id=transaction_id, annotator=user, request_token=request_token
        )
        return SubmitOutcome(label, created=False)
    return SubmitOutcome(label, created=True)


def label_undo(*, user, since=None) -> Label | None:
    """Takes back the user's latest active label (of this session when `since` is given), or
    the whole case it belongs to: each is marked superseded, never deleted, and the item comes
    back to the user, leased, to answer again (a case's other transactions that came from a
    queue go back to it); the new answer records which label it supersedes. Returns the label
    of the item the user held; None when there is nothing to undo."""
    with transaction.atomic():
        labels = Label.objects.filter(annotator=user, status=Label.Status.ACTIVE)
        if since is not None:
            labels = labels.filter(created_at__gte=since)
        last = labels.select_for_update().order_by("-created_at", "-id").first()
        if last is None:
            return None
        undone = [last]
        if last.case_id is not None:
            undone = list(
                Label.objects.select_for_update()
                .filter(annotator=user, status=Label.Status.ACTIVE, case_id=last.case_id)
                .select_related("transaction")
                .order_by("transaction_id")
            )
            # The item the user held: the one label of the case not given as a case member.
            last = next((x for x in undone if x.queue_reason != CASE), last)
        Label.objects.filter(pk__in=[x.pk for x in undone]).update(status=Label.Status.SUPERSEDED)
        for label in undone:
            label.status = Label.Status.SUPERSEDED
            if review_items_after_undo(transaction_id=label.transaction_id):
                continue  # a reviewer settles it: one human queue at a time
            held = label.pk == last.pk
            if not held and label.queue_reason not in QueueEntry.Reason.values:
                continue  # a case member that came from no queue goes back to none
            QueueEntry.objects.update_or_create(
                transaction_id=label.transaction_id,
                defaults={
                    **QueueEntry.suggestion_of(label.transaction),
                    "priority": queue_top_priority(),
                    "reason": label.queue_reason
                    if label.queue_reason in QueueEntry.Reason.values
                    else QueueEntry.Reason.UNCERTAIN,
                    "leased_to": user if held else None,
                    "lease_expires_at": lease_expiry() if held else None,
                },
            )
    return last
