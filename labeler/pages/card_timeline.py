"""The card's history beside the item an analyst judges: its transactions around this one (up
to 40 before and 10 after, within 30 days either side), each with its amount, merchant, score
and what is known of it (a person's label, a chargeback, the active version's pseudo-label).
Reads only; four indexed statements. None for data without a card column."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils import dateformat, timezone

from labeler.models import Label, LabelClass, ModelVersion, PseudoLabel, Transaction

BEFORE, AFTER, WINDOW_DAYS = 40, 10, 30


@dataclass
class TimelineRow:
    transaction_id: int
    external_id: str
    when: str
    amount: float
    merchant: str
    score: float | None
    current: bool
    suspicious: bool  # scored as more likely fraud than not, or known as fraud
    known: list[tuple[str, str, str]] = field(default_factory=list)  # (text, colour, title)


@dataclass
class CardTimeline:
    card: str
    rows: list[TimelineRow]  # newest first: the current row within the first 11
    before: int  # rows shown before the current one
    after: int
    window_days: int = WINDOW_DAYS
    frauds_known: int = 0  # rows a person or a chargeback settled as fraud


def _when(seconds: float, dated: bool) -> str:
    if not dated:
        return f"{seconds:,.0f} s"
    moment = timezone.localtime(datetime.fromtimestamp(seconds, tz=UTC))
    return dateformat.format(moment, "j M H:i")


def card_timeline(transaction: Transaction, classes: list[LabelClass]) -> CardTimeline | None:
    if not transaction.card_key:
        return None
    dataset = transaction.dataset
    dated = (dataset.schema or {}).get("time") == "datetime"
    span = WINDOW_DAYS * 86400 if dated else float("inf")
    same_card = Transaction.objects.filter(dataset_id=dataset.pk, card_key=transaction.card_key)
    columns = ("pk", "external_id", "time", "amount", "merchant_key", "score")
    earlier = list(
        same_card.filter(time__lte=transaction.time, time__gte=transaction.time - span)
        .exclude(pk=transaction.pk)
        .order_by("-time", "-pk")
        .values_list(*columns)[:BEFORE]
    )
    later = list(
        same_card.filter(time__gt=transaction.time, time__lte=transaction.time + span)
        .order_by("time", "pk")
        .values_list(*columns)[:AFTER]
    )
    current = (
        transaction.pk,
        transaction.external_id,
        transaction.time,
        transaction.amount,
        transaction.merchant_key,
        transaction.score,
    )
    ordered = [*reversed(later), current, *earlier]
    ids = [row[0] for row in ordered]
    by_id = {c.pk: c for c in classes}
    known: dict[int, list[tuple[str, str, str]]] = {pk: [] for pk in ids}
    frauds = set()
    positive = {c.pk for c in classes if c.is_positive}
    labels = Label.objects.filter(transaction_id__in=ids, status=Label.Status.ACTIVE).values_list(
        "transaction_id", "label_class_id", "annotator_id", "known_at"
    )
    for pk, class_id, annotator_id, known_at in labels:
        label_class = by_id.get(class_id)
        if label_class is None:
            continue
        if annotator_id is None and known_at is not None:
            source = f"chargeback, known {dateformat.format(timezone.localtime(known_at), 'j M')}"
        elif annotator_id is None:
            source = "imported as trusted"
        else:
            source = "a person's label"
        known[pk].append((label_class.display_name, label_class.colour, source))
        if label_class.is_positive:
            frauds.add(pk)
    frauds_pseudo: set[int] = set()
    active = ModelVersion.active_for(dataset.pk)
    if active is not None:
        pseudo = PseudoLabel.objects.filter(
            transaction_id__in=ids, model_version=active
        ).values_list("transaction_id", "label_class_id", "probability")
        for pk, class_id, probability in pseudo:
            label_class = by_id.get(class_id)
            if label_class is not None and not known[pk]:
                if class_id in positive:
                    frauds_pseudo.add(pk)
                known[pk].append(
                    (
                        f"pseudo: {label_class.display_name}",
                        label_class.colour,
                        f"v{active.pk}'s pseudo-label at {probability:.2f}",
                    )
                )
    rows = [
        TimelineRow(
            transaction_id=pk,
            external_id=external_id,
            when=_when(seconds, dated),
            amount=amount,
            merchant=merchant or "",
            score=score,
            current=pk == transaction.pk,
            suspicious=pk in frauds or pk in frauds_pseudo or (score is not None and score >= 0.5),
            known=known[pk],
        )
        for pk, external_id, seconds, amount, merchant, score in ordered
    ]
    return CardTimeline(
        card=transaction.card_key,
        rows=rows,
        before=len(earlier),
        after=len(later),
        frauds_known=len(frauds),
    )
