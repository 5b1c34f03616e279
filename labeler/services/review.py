"""Reviewers' work: leasing the next review item, settling a transaction's class, undo, sending a
label back for a second opinion.

A reviewer's verdict is a class for the transaction. Every opinion on it gets a review: each
human label an "agree" or an "overrule" (the overruled label is marked so, never deleted), and the
pseudo-label under a spot check the same. Training takes the class of the latest active review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone

from labeler.errors import FraudloopError
from labeler.models import Label, LabelClass, PseudoLabel, QueueEntry, Review, ReviewItem
from labeler.models import Transaction as TransactionRow
from labeler.services.leasing import lease_expiry, lease_first, lease_release
from labeler.services.queueing import queue_top_priority
from labeler.services.tokens import TOKEN_RULE, token_valid

Reason = ReviewItem.Reason
# Disagreements first: they keep an item out of training until a reviewer settles it.
REASON_ORDER = [Reason.DISAGREEMENT, Reason.REJECTED_CONFIDENT, Reason.FOUR_EYES, Reason.SPOT_CHECK]


class ReviewRefused(FraudloopError):
    """The verdict cannot be recorded as asked; the message says why and what happens next."""


@dataclass
class ReviewOutcome:
    item: ReviewItem | None  # None: a verdict given outside the review queue
    reviews: list[Review]
    created: bool  # False: the same request arrived before; this is its result


def _open_items():
    order = Case(
        *[When(reason=reason, then=Value(rank)) for rank, reason in enumerate(REASON_ORDER)],
        output_field=IntegerField(),
    )
    return (
        ReviewItem.objects.filter(resolved_at__isnull=True)
        .annotate(rank=order)
        .order_by("rank", "created_at", "id")
    )


def review_next_item(*, user, exclude: tuple[int, ...] = ()) -> ReviewItem | None:
    """The reviewer's next open item, leased to them: one they hold, else the first free one.
    Items on transactions the reviewer labeled are left to other reviewers (four eyes)."""
    own = Label.objects.filter(annotator=user).values("transaction_id")
    held = lease_first(
        _open_items().exclude(transaction_id__in=exclude).exclude(transaction_id__in=own),
        user=user,
        now=timezone.now(),
    )
    if held is None:
        return None
    return ReviewItem.objects.select_related(
        "transaction", "transaction__dataset", "transaction__scored_by", "pseudo_label"
    ).get(pk=held)


def review_lease_release(*, user, transaction_id: int) -> None:
    """Skip: the item goes back for other reviewers at once."""
    lease_release(
        ReviewItem.objects.filter(transaction_id=transaction_id, resolved_at__isnull=True),
        user=user,
    )


def _judge(*, reviewer, target, label_class: LabelClass, item, note: str, **target_field):
    agree = target.label_class_id == label_class.pk
    return Review.objects.create(
        transaction_id=target.transaction_id,
        reviewer=reviewer,
        verdict=Review.Verdict.AGREE if agree else Review.Verdict.OVERRULE,
        new_class=None if agree else label_class,
        review_item=item,
        note=note,
        **target_field,
    )


def transaction_review(
    *,
    reviewer,
    transaction_id: int,
    label_class: LabelClass,
    pseudo_label: PseudoLabel | None = None,
    item: ReviewItem | None = None,
    note: str = "",
    request_token: str = "",
) -> list[Review]:
    """Settles the transaction's class: a review for each of its human labels (active or
    overruled before) and for `pseudo_label`; overruled labels are marked, labels a reviewer
    now agrees with are active again. Any open review item of the transaction is resolved
    (recording `request_token`, which makes a repeat of the request find its result). Run
    inside a transaction."""
    labels = list(
        Label.objects.select_for_update()
        .filter(
            transaction_id=transaction_id,
            status__in=[Label.Status.ACTIVE, Label.Status.OVERRULED],
        )
        .order_by("id")
    )
    if any(label.annotator_id == reviewer.pk for label in labels):
        raise ReviewRefused("you labeled this transaction yourself: another reviewer must judge it")
    reviews = []
    for label in labels:
        reviews.append(
            _judge(
                reviewer=reviewer,
                target=label,
                label_class=label_class,
                item=item,
                note=note,
                label=label,
            )
        )
        status = (
            Label.Status.ACTIVE
            if label.label_class_id == label_class.pk
            else Label.Status.OVERRULED
        )
        if status != label.status:
            label.status = status
            label.save(update_fields=["status"])
    if pseudo_label is not None:
        reviews.append(
            _judge(
                reviewer=reviewer,
                target=pseudo_label,
                label_class=label_class,
                item=item,
                note=note,
                pseudo_label=pseudo_label,
            )
        )
    if not reviews:
        raise ReviewRefused("this transaction has no label or pseudo-label to review")
    resolution = {
        "resolved_at": timezone.now(),
        "resolved_by": reviewer,
        "resolved_class": label_class,
        "resolved_token": request_token,
        "leased_to": None,
        "lease_expires_at": None,
    }
    ReviewItem.objects.filter(transaction_id=transaction_id, resolved_at__isnull=True).update(
        **resolution
    )
    if item is not None:  # the caller's copy, as the database now holds it
        for field, value in resolution.items():
            setattr(item, field, value)
    return reviews


def review_submit(
    *,
    user,
    transaction_id: int,
    label_class: LabelClass | None,
    request_token: str,
    note: str = "",
) -> ReviewOutcome:
    """The reviewer's class for the transaction's open item, once per request token. (The class
    may be None only where no item is open: the request is a repeat, or came too late.)"""
    if not token_valid(request_token):
        raise ReviewRefused(f"every verdict needs a request token of {TOKEN_RULE}")
    with transaction.atomic():
        # One verdict per transaction at a time: a row lock on PostgreSQL; SQLite takes the
        # database write lock when the transaction begins.
        row = TransactionRow.objects.select_for_update().get(pk=transaction_id)
        # In one read: this request's item if it came before, and the open item.
        items = list(
            ReviewItem.objects.filter(transaction=row)
            .filter(Q(resolved_by=user, resolved_token=request_token) | Q(resolved_at__isnull=True))
            .select_related("pseudo_label")
        )
        repeated = next((i for i in items if i.resolved_at is not None), None)
        if repeated is not None:
            return ReviewOutcome(repeated, list(repeated.reviews.all()), created=False)
        item = next(iter(items), None)
        if item is None:
            last = (
                ReviewItem.objects.filter(transaction=row, resolved_at__isnull=False)
                .select_related("resolved_by")
                .order_by("-resolved_at")
                .first()
            )
            who = last.resolved_by.get_username() if last else "nobody"
            raise ReviewRefused(
                f"transaction {row.external_id} needs no review now ({who} settled it); "
                "your verdict was not recorded. Here is your next item."
            )
        if label_class is None:
            raise ReviewRefused("that verdict needs a class: pick one with its digit")
        reviews = transaction_review(
            reviewer=user,
            transaction_id=row.pk,
            label_class=label_class,
            pseudo_label=item.pseudo_label,
            item=item,
            note=note,
            request_token=request_token,
        )
    return ReviewOutcome(item, reviews, created=True)


def review_record(
    *, reviewer, transaction_id: int, label_class: LabelClass, request_token: str, note: str = ""
) -> ReviewOutcome:
    """A verdict from outside the review page (the API): it resolves the transaction's open
    review item when there is one, and settles the transaction directly otherwise, as the
    admin's actions do."""
    if ReviewItem.objects.filter(transaction_id=transaction_id, resolved_at__isnull=True).exists():
        return review_submit(
            user=reviewer,
            transaction_id=transaction_id,
            label_class=label_class,
            request_token=request_token,
            note=note,
        )
    with transaction.atomic():
        TransactionRow.objects.select_for_update().get(pk=transaction_id)
        reviews = transaction_review(
            reviewer=reviewer, transaction_id=transaction_id, label_class=label_class, note=note
        )
    return ReviewOutcome(None, reviews, created=True)


def review_undo(*, user, since: datetime | None = None) -> ReviewItem | None:
    """Takes back the reviewer's latest verdict (of this session when `since` is given): its
    reviews are withdrawn, never deleted, labels it overruled are active again unless another
    review still overrules them, and the item comes back to the reviewer, leased."""
    with transaction.atomic():
        resolved = ReviewItem.objects.filter(resolved_by=user, resolved_at__isnull=False)
        if since is not None:
            resolved = resolved.filter(resolved_at__gte=since)
        standing = Review.objects.filter(review_item=OuterRef("pk"), status=Review.Status.ACTIVE)
        item = (
            resolved.filter(Exists(standing))
            .select_for_update()
            .order_by("-resolved_at", "-id")
            .first()
        )
        if item is None:
            return None
        reviews = list(item.reviews.filter(status=Review.Status.ACTIVE))
        Review.objects.filter(pk__in=[r.pk for r in reviews]).update(status=Review.Status.WITHDRAWN)
        for review in reviews:
            if review.label_id is not None:
                _label_status_from_reviews(review.label_id)
        try:
            with transaction.atomic():
                ReviewItem.objects.filter(pk=item.pk).update(
                    resolved_at=None,
                    resolved_by=None,
                    resolved_class=None,
                    resolved_token="",
                    leased_to=user,
                    lease_expires_at=lease_expiry(),
                )
        except IntegrityError:
            pass  # the transaction has another open item meanwhile: that one stands for it
        item.refresh_from_db()
    return item


def _label_status_from_reviews(label_id: int) -> None:
    """An overruled label whose overrule was withdrawn is active again, unless its latest
    remaining review overrules it too (or its annotator has another active label there)."""
    label = Label.objects.get(pk=label_id)
    latest = (
        label.reviews.filter(status=Review.Status.ACTIVE)
        .exclude(verdict=Review.Verdict.SEND_BACK)
        .order_by("-created_at", "-id")
        .first()
    )
    overruled = latest is not None and latest.verdict == Review.Verdict.OVERRULE
    wanted = Label.Status.OVERRULED if overruled else Label.Status.ACTIVE
    if wanted == label.status or label.status == Label.Status.SUPERSEDED:
        return
    if wanted == Label.Status.ACTIVE and (
        Label.objects.filter(
            transaction_id=label.transaction_id,
            annotator_id=label.annotator_id,
            status=Label.Status.ACTIVE,
        ).exists()
    ):
        return
    label.status = wanted
    label.save(update_fields=["status"])


def label_send_back(*, reviewer, label: Label, note: str = "") -> QueueEntry:
    """Asks for a second opinion: the label stays, and the item goes to the top of the
    annotation queue for another annotator. If the two disagree, the item comes to review."""
    if label.status != Label.Status.ACTIVE:
        raise ReviewRefused(f"label {label.pk} is {label.status}: only active labels go back")
    with transaction.atomic():
        Review.objects.create(
            transaction_id=label.transaction_id,
            label=label,
            reviewer=reviewer,
            verdict=Review.Verdict.SEND_BACK,
            note=note,
        )
        entry, _ = QueueEntry.objects.update_or_create(
            transaction_id=label.transaction_id,
            defaults={
                "priority": queue_top_priority(),
                **QueueEntry.suggestion_of(label.transaction),
                "reason": QueueEntry.Reason.SECOND_OPINION,
                "leased_to": None,
                "lease_expires_at": None,
            },
        )
    return entry
