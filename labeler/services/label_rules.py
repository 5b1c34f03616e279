"""The rules of labeling one transaction: who may label it, what the label records (the
suggestion it was shown with, the decision, the queue reason), and the review items it opens.
`labeling.label_submit` and `case_labeling.case_submit` write their labels through
`label_record`, inside the transaction that locked the row."""

from __future__ import annotations

from django.utils import timezone

from labeler.errors import FraudloopError
from labeler.models import Label, LabelClass, QueueEntry, ReviewItem, Transaction
from labeler.services.review_rules import review_items_after_label


class LabelRefused(FraudloopError):
    """The label cannot be recorded as asked; the message says why and what happens next."""


class TransactionMissing(LabelRefused):
    """No transaction has the id asked for (a wrong id, or the dataset was deleted)."""

    def __init__(self, transaction_id: int):
        super().__init__(f"there is no transaction {transaction_id} (deleted?)")
        self.transaction_id = transaction_id


class LeaseHeld(LabelRefused):
    """The item is leased to another annotator: they were shown it and are answering it."""

    def __init__(self, message: str, *, holder: str, until):
        super().__init__(message)
        self.holder = holder
        self.until = until


# Labels given outside the queue (a reviewer or staff member labeling a transaction they chose).
DIRECT = "direct"
# Labels of a card's transactions given with the item the annotator holds (one case).
CASE = "case"


def label_record(
    item: Transaction,
    history: list[Label],
    *,
    user,
    label_class: LabelClass,
    request_token: str,
    time_taken_ms: int | None,
    case_id=None,
    in_case: bool = False,
) -> Label:
    """Writes the user's label of `item` (locked by the caller, `history` its labels newest
    first) under the rules of labeling, or raises LabelRefused saying why: another's answer
    stands (unless a second opinion was asked), the user's own answer stands (undo first), the
    item is leased to someone else, or (outside a case) it is in no queue and the user is an
    annotator. `in_case`: a transaction of a case the user labels from an item they hold."""
    mine = [label for label in history if label.annotator_id == user.pk]
    active = [label for label in history if label.status == Label.Status.ACTIVE]
    entry = _queue_entry(item)
    # A reviewer who sends a label back asks for one more annotator's answer beside it.
    second_opinion = entry is not None and entry.reason == QueueEntry.Reason.SECOND_OPINION
    others = next((x for x in active if x.annotator_id != user.pk), None)
    if others is not None and not second_opinion:
        who = others.annotator.get_username() if others.annotator else "an import"
        raise LabelRefused(
            f"{who} labeled transaction {item.external_id} a moment ago; "
            "your answer was not recorded. Here is your next item."
        )
    if any(label.annotator_id == user.pk for label in active):
        raise LabelRefused(
            f"you labeled transaction {item.external_id} already; press u to undo it"
        )
    if not (in_case and entry is None):
        _queue_rule_check(item, entry, user)
    elif ReviewItem.objects.filter(transaction_id=item.pk, resolved_at__isnull=True).exists():
        # One human queue at a time: what waits for a reviewer is theirs to settle.
        raise LabelRefused(f"transaction {item.external_id} waits for a reviewer")
    superseded = next((x for x in mine if x.status == Label.Status.SUPERSEDED), None)
    # What the item was shown with: its queue entry's suggestion (a label given directly: the
    # transaction's latest scores).
    shown = QueueEntry(**QueueEntry.suggestion_of(item)) if entry is None else entry
    label = Label.objects.create(
        transaction=item,
        annotator=user,
        label_class=label_class,
        decision=_decision(shown, label_class),
        # The class itself, from memory: the API's answer names it without a read.
        suggested_class=LabelClass.remembered(shown.suggested_class_id),
        suggested_probability=_suggested_probability(shown, label_class),
        suggested_by_id=shown.model_version_id,
        queue_reason=entry.reason if entry else (CASE if in_case else DIRECT),
        # What the audit's figures weight this answer by (its inverse), as of now.
        audit_inclusion_probability=shown.audit_inclusion
        if entry is not None and entry.reason == QueueEntry.Reason.AUDIT
        else None,
        time_taken_ms=time_taken_ms,
        request_token=request_token,
        supersedes=superseded,
        case_id=case_id,
    )
    if entry is not None:
        entry.delete()
    review_items_after_label(label=label, others=active)
    return label


def _queue_rule_check(item: Transaction, entry: QueueEntry | None, user) -> None:
    """Annotators label what the queue serves them: an item leased to someone else is theirs
    until the lease ends (a second opinion asks for another answer on purpose), and an item in
    no queue is for reviewers and staff, whose label is recorded as given directly."""
    if entry is None:
        if user.is_staff or user.has_perm("labeler.review"):
            return
        raise LabelRefused(
            f"transaction {item.external_id} is in no annotation queue: annotators label the "
            "items the queue serves them (the annotate page, or GET /api/v1/queue/next/); "
            "your answer was not recorded."
        )
    if entry.reason == QueueEntry.Reason.SECOND_OPINION:
        return
    # A lease has a holder and an expiry or neither (a database constraint).
    if entry.leased_to_id not in (None, user.pk) and entry.lease_expires_at >= timezone.now():
        holder = entry.leased_to.get_username()
        until = timezone.localtime(entry.lease_expires_at)
        raise LeaseHeld(
            f"transaction {item.external_id} is leased to {holder} until {until:%H:%M:%S %Z}; "
            "your answer was not recorded. Here is your next item.",
            holder=holder,
            until=entry.lease_expires_at,
        )


def _queue_entry(item: Transaction) -> QueueEntry | None:
    try:
        return item.queue_entry
    except QueueEntry.DoesNotExist:
        return None


def _decision(shown: QueueEntry, label_class: LabelClass) -> str:
    if shown.suggested_class_id is None:
        return Label.Decision.MANUAL
    if shown.suggested_class_id == label_class.pk:
        return Label.Decision.CONFIRM
    return Label.Decision.REJECT


def _suggested_probability(shown: QueueEntry, chosen: LabelClass) -> float | None:
    """The probability shown with the suggestion: of the suggested class."""
    if shown.suggested_class_id == chosen.pk:
        return shown.probability_of(chosen)
    return shown.probability_of(LabelClass.remembered(shown.suggested_class_id))
