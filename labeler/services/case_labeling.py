"""A case: the annotator labels the item they hold together with transactions of the same card
(the card's timeline on the annotate page), with one key and one request.

All or nothing: the labels are written in one database transaction (a failure records none),
each recorded individually under the rules of labeling (`label_rules.label_record`) with a shared
case id, and one undo takes the whole case back. The item the annotator holds must be theirs
to answer, else the case is refused; a transaction of the case that another annotator holds
or has answered, or that the annotator answered already, is left out and named in the answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from labeler.models import Label, LabelClass, Transaction
from labeler.services.label_rules import CASE, LabelRefused, label_record
from labeler.services.tokens import TOKEN_RULE, token_valid
from labeler.services.training_runs import training_after_labels

MAX_CASE = 200  # transactions one case may label: a card's month, not a dataset


@dataclass
class CaseOutcome:
    case_id: uuid.UUID
    labels: list[Label]  # the case's labels, the held item's first
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (external id, why)
    created: bool = True  # False: the same request arrived before; these are its labels


def case_submit(
    *,
    user,
    transaction_id: int,
    case_ids: list[int],
    label_class: LabelClass,
    request_token: str,
    time_taken_ms: int | None = None,
) -> CaseOutcome:
    """Labels `transaction_id` (the item the user holds) and the card's transactions
    `case_ids` as `label_class`, once per request token."""
    if not token_valid(request_token):
        raise LabelRefused(f"every submission needs a request token of {TOKEN_RULE}")
    ids = sorted({transaction_id, *case_ids})
    if len(ids) > MAX_CASE:
        raise LabelRefused(f"a case holds at most {MAX_CASE} transactions; {len(ids)} were sent")
    try:
        with transaction.atomic():
            outcome = _case_write(
                user, transaction_id, ids, label_class, request_token, time_taken_ms
            )
            if outcome.created:
                training_after_labels(outcome.labels[0].transaction.dataset_id)
            return outcome
    except IntegrityError:
        # The same request raced itself: the first one's labels stand.
        return _repeated(user, ids, request_token)


def _case_write(user, anchor_id, ids, label_class, request_token, time_taken_ms) -> CaseOutcome:
    # Row locks in id order, so two cases sharing transactions never deadlock.
    rows = list(
        Transaction.objects.select_for_update(of=("self",))
        .select_related("queue_entry")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    by_id = {row.pk: row for row in rows}
    anchor = by_id.get(anchor_id)
    if anchor is None:
        raise LabelRefused(f"there is no transaction {anchor_id} (deleted?)")
    missing = [pk for pk in ids if pk not in by_id]
    if missing:
        raise LabelRefused(f"there are no transactions {missing[:20]}; nothing was recorded")
    foreign = [
        row.external_id
        for row in rows
        if row is not anchor
        and (
            not anchor.card_key
            or (row.dataset_id, row.card_key) != (anchor.dataset_id, anchor.card_key)
        )
    ]
    if foreign:
        raise LabelRefused(
            f"{', '.join(foreign[:20])} {'is' if len(foreign) == 1 else 'are'} not of the card of "
            f"transaction {anchor.external_id}: a case is one card's transactions; nothing was "
            "recorded"
        )
    histories: dict[int, list[Label]] = {pk: [] for pk in ids}
    for label in Label.objects.filter(transaction_id__in=ids).select_related("annotator"):
        histories[label.transaction_id].append(label)
    if any(
        x.annotator_id == user.pk and x.request_token == request_token
        for labels in histories.values()
        for x in labels
    ):
        return _repeated(user, ids, request_token)
    for labels in histories.values():
        labels.sort(key=lambda x: -x.pk)
    case_id = uuid.uuid4()
    written, left_out = [], []
    # The held item first: if it is not the user's to answer, the case is refused.
    for row in [anchor, *(row for row in rows if row is not anchor)]:
        try:
            label = label_record(
                row,
                histories[row.pk],
                user=user,
                label_class=label_class,
                request_token=request_token,
                time_taken_ms=time_taken_ms if row is anchor else None,
                case_id=case_id,
                in_case=row is not anchor,
            )
        except LabelRefused as refused:
            if row is anchor:
                raise
            left_out.append((row.external_id, _why(str(refused))))
            continue
        label.transaction = row
        written.append(label)
    return CaseOutcome(case_id=case_id, labels=written, left_out=left_out)


def _why(message: str) -> str:
    """The refusal, without what it says about the next item (the case goes on)."""
    return message.split("; your answer was not recorded")[0].split("; press u")[0]


def _repeated(user, ids, request_token) -> CaseOutcome:
    labels = list(
        Label.objects.filter(
            annotator=user, request_token=request_token, transaction_id__in=ids
        ).select_related("transaction", "label_class")
    )
    if not labels:
        raise LabelRefused("the case could not be recorded; nothing was recorded, try again")
    labels.sort(key=lambda x: (x.queue_reason == CASE, x.pk))
    return CaseOutcome(case_id=labels[0].case_id, labels=labels, created=False)
