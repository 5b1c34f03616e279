"""Which transactions need a reviewer: the rules of the review policy, applied as labels arrive,
as model versions are activated, and when the policy changes."""

from __future__ import annotations

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef

from labeler.models import (
    Label,
    LabelClass,
    ModelVersion,
    PseudoLabel,
    QueueEntry,
    Review,
    ReviewItem,
)
from labeler.models import ReviewPolicy as Policy

Reason = ReviewItem.Reason


def review_item_open(
    *, transaction_id: int, reason: str, pseudo_label_id: int | None = None
) -> ReviewItem | None:
    """Opens an item for the transaction; None when one is open already, which then carries
    this reason too. A transaction is in one human queue at a time: an item opened for review
    leaves the annotation queue (a second opinion a reviewer asked for stays)."""
    try:
        with transaction.atomic():  # a savepoint: a clash must not spoil the caller's transaction
            item = ReviewItem.objects.create(
                transaction_id=transaction_id, reason=reason, pseudo_label_id=pseudo_label_id
            )
    except IntegrityError:
        _reason_add(transaction_id=transaction_id, reason=reason)
        return None
    QueueEntry.objects.filter(transaction_id=transaction_id).exclude(
        reason=QueueEntry.Reason.SECOND_OPINION
    ).delete()
    return item


def _open_item_locked(transaction_id: int) -> ReviewItem | None:
    return (
        ReviewItem.objects.select_for_update()
        .filter(transaction_id=transaction_id, resolved_at__isnull=True)
        .first()
    )


def _reason_add(*, transaction_id: int, reason: str) -> None:
    item = _open_item_locked(transaction_id)
    if item is not None and reason != item.reason and reason not in item.also_reasons:
        item.also_reasons = [*item.also_reasons, reason]
        item.save(update_fields=["also_reasons"])


def review_reason_for_label(*, label: Label, others: list[Label], policy: Policy) -> str | None:
    """Why a new label needs a reviewer, if it does. `others`: the transaction's other active
    labels when this one was written."""
    if any(other.label_class_id != label.label_class_id for other in others):
        return Reason.DISAGREEMENT
    if (
        label.decision == Label.Decision.REJECT
        and label.suggested_probability is not None
        and label.suggested_probability >= policy.confident_threshold
    ):
        return Reason.REJECTED_CONFIDENT
    if policy.four_eyes_for_fraud and label.label_class.is_positive:
        return Reason.FOUR_EYES
    return None


def review_items_after_label(*, label: Label, others: list[Label]) -> ReviewItem | None:
    """Called in the transaction that writes a human label."""
    reason = review_reason_for_label(
        label=label, others=[o for o in others if o.pk != label.pk], policy=Policy.current()
    )
    if reason is None:
        return None
    return review_item_open(transaction_id=label.transaction_id, reason=reason)


# Reasons a human label gives; with no active human label left they no longer apply.
LABEL_REASONS = {Reason.REJECTED_CONFIDENT, Reason.FOUR_EYES, Reason.DISAGREEMENT}


def review_items_after_undo(*, transaction_id: int) -> bool:
    """Called in the transaction that undoes a label. An open item that only that label's
    reasons opened, and no reviewer holds, closes with it; True when an open item remains (the
    transaction then stays with the reviewers instead of going back to the annotation queue)."""
    item = _open_item_locked(transaction_id)
    if item is None:
        return False
    labeled = Label.objects.filter(
        transaction_id=transaction_id, status=Label.Status.ACTIVE, annotator__isnull=False
    ).exists()
    moot = not labeled and {item.reason, *item.also_reasons} <= LABEL_REASONS
    if moot and item.leased_to_id is None:
        item.delete()
        return False
    return True


def review_spot_checks_open(*, version: ModelVersion, per_class: int | None = None) -> int:
    """Draws up to `per_class` of the version's pseudo-labels of each class, at random (seeded
    by the version), for reviewers to check: their verdicts estimate the version's pseudo-label
    precision. Called in the activation transaction."""
    if per_class is None:
        per_class = Policy.current().spot_checks_per_class
    if per_class <= 0:
        return 0
    rows = np.asarray(
        PseudoLabel.objects.filter(model_version=version)
        .order_by("id")
        .values_list("id", "transaction_id", "label_class_id"),
        dtype=np.int64,
    ).reshape(-1, 3)
    rng = np.random.default_rng(version.pk)
    opened = 0
    for class_id in np.unique(rows[:, 2]):
        of_class = rows[rows[:, 2] == class_id]
        for pseudo_id, transaction_id, _ in rng.permutation(of_class)[:per_class]:
            opened += (
                review_item_open(
                    transaction_id=int(transaction_id),
                    reason=Reason.SPOT_CHECK,
                    pseudo_label_id=int(pseudo_id),
                )
                is not None
            )
    return opened


def _unreviewed(labels):
    reviewed = Review.objects.filter(label=OuterRef("pk"), status=Review.Status.ACTIVE).exclude(
        verdict=Review.Verdict.SEND_BACK
    )
    return labels.filter(~Exists(reviewed))


def review_items_refresh(*, policy: Policy | None = None) -> dict[str, int]:
    """Applies the policy to every label written so far: opens the items its rules ask for and,
    when four eyes is switched off, closes its open items that no reviewer holds. Run when the
    policy changes (the admin does)."""
    policy = policy or Policy.current()
    active = Label.objects.filter(status=Label.Status.ACTIVE)
    opened: dict[str, int] = {}

    def open_all(transaction_ids, reason):
        opened[reason] = sum(
            review_item_open(transaction_id=t, reason=reason) is not None
            for t in set(transaction_ids)
        )

    with transaction.atomic():
        disputed = (
            active.values("transaction_id")
            .annotate(classes=Count("label_class", distinct=True))
            .filter(classes__gt=1)
            .values_list("transaction_id", flat=True)
        )
        open_all(
            _unreviewed(active.filter(transaction_id__in=disputed)).values_list(
                "transaction_id", flat=True
            ),
            Reason.DISAGREEMENT,
        )
        confident_rejects = active.filter(
            decision=Label.Decision.REJECT,
            suggested_probability__gte=policy.confident_threshold,
        )
        open_all(
            _unreviewed(confident_rejects).values_list("transaction_id", flat=True),
            Reason.REJECTED_CONFIDENT,
        )
        four_eyes = ReviewItem.objects.filter(
            reason=Reason.FOUR_EYES, resolved_at__isnull=True, leased_to__isnull=True
        )
        if policy.four_eyes_for_fraud:
            positive = LabelClass.objects.filter(is_positive=True)
            frauds = _unreviewed(active.filter(label_class__in=positive, annotator__isnull=False))
            open_all(frauds.values_list("transaction_id", flat=True), Reason.FOUR_EYES)
            opened["closed"] = 0
        else:
            opened["closed"], _ = four_eyes.delete()
    return opened
