"""What the review page shows about one item and one session: reads only, no writes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from labeler.models import Label, LabelClass, PseudoLabel, Review, ReviewItem
from labeler.pages.annotate import FeatureChart, feature_chart, transaction_facts
from labeler.pages.card_timeline import CardTimeline, card_timeline


@dataclass
class ReviewItemView:
    item: ReviewItem
    claim: LabelClass | None  # what "agree" keeps: the label (or pseudo-label) under review
    alternatives: list[LabelClass]  # what an overrule can become, in hotkey-digit order
    labels: list[Label]
    pseudo_labels: list[PseudoLabel]
    reviews: list[Review]
    suggested: LabelClass | None
    probability: float | None  # of the suggested class
    chart: FeatureChart | None
    token: str = ""
    when: str = ""  # as on the annotate card
    currency: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    timeline: CardTimeline | None = None

    @property
    def transaction(self):
        return self.item.transaction


def review_claim(
    item: ReviewItem, classes: list[LabelClass], *, labels: list[Label] | None = None
) -> LabelClass | None:
    """What "agree" keeps: the spot-checked pseudo-label's class, else the latest standing
    human label's."""
    by_id = {c.pk: c for c in classes}
    if item.pseudo_label_id is not None:
        return by_id.get(item.pseudo_label.label_class_id)
    if labels is None:
        labels = list(item.transaction.labels.order_by("created_at", "id"))
    standing = [label for label in labels if label.status != Label.Status.SUPERSEDED]
    return by_id.get(standing[-1].label_class_id) if standing else None


def review_item_view(item: ReviewItem | None, classes: list[LabelClass]) -> ReviewItemView | None:
    if item is None:
        return None
    transaction = item.transaction
    by_id = {c.pk: c for c in classes}
    # The history shows which version suggested by its number (`suggested_by_id`) alone: the
    # version rows, with their metrics, stay unread.
    labels = list(
        transaction.labels.select_related("annotator", "label_class").order_by("created_at", "id")
    )
    pseudo_labels = list(
        transaction.pseudo_labels.select_related("label_class").order_by("-model_version_id")
    )
    claim = review_claim(item, classes, labels=labels)
    suggested = by_id.get(transaction.suggested_class_id)
    when, _, currency, facts = transaction_facts(transaction)
    return ReviewItemView(
        when=when,
        currency=currency,
        facts=facts,
        timeline=card_timeline(transaction, classes),
        item=item,
        claim=claim,
        alternatives=[c for c in classes if c != claim],
        labels=labels,
        pseudo_labels=pseudo_labels,
        reviews=list(
            transaction.reviews.select_related("reviewer", "new_class").order_by("created_at", "id")
        ),
        suggested=suggested,
        probability=transaction.probability_of(suggested),
        chart=feature_chart(
            features=transaction.feature_vector,
            names=transaction.dataset.feature_names,
            version=transaction.scored_by,
            classes=classes,
        ),
        token=uuid.uuid4().hex,
    )


@dataclass
class ReviewSessionStats:
    reviews: int
    overrules: int
    per_hour: float
    waiting: int


def review_session_stats(*, user, since: datetime) -> ReviewSessionStats:
    """The reviewer's figures this session, and how many items wait for any reviewer."""
    resolved = ReviewItem.objects.filter(resolved_by=user, resolved_at__gte=since)
    figures = resolved.aggregate(
        resolved=Count("id", distinct=True),
        overruled=Count("id", filter=Q(reviews__verdict=Review.Verdict.OVERRULE), distinct=True),
    )
    hours = max((timezone.now() - since).total_seconds() / 3600, 1 / 60)
    return ReviewSessionStats(
        reviews=figures["resolved"],
        overrules=figures["overruled"],
        per_hour=round(figures["resolved"] / hours, 1),
        waiting=ReviewItem.objects.filter(resolved_at__isnull=True).count(),
    )
