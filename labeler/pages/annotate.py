"""What the annotator page shows about one item and one session: reads only, no writes."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
from django.db import connection
from django.db.models import Count, Q
from django.utils import dateformat, timezone

from labeler.models import (
    Label,
    LabelClass,
    ModelVersion,
    QueueEntry,
    TrainingPolicy,
    Transaction,
)
from labeler.pages.card_timeline import CardTimeline, card_timeline
from labeler.selectors import new_human_labels
from labeler.services.sql_names import quoted_column, quoted_table
from labeler.services.version_scoring import score_top_share

CHART_WIDTH, CHART_HEIGHT, CHART_LIMIT = 560, 120, 4.0


@dataclass
class FeatureChart:
    """Polyline points for an inline SVG: the item against each class's typical values, on the
    dataset's robust scale (0 = median, 1 = one interquartile range), clipped to +-4."""

    item: str
    profiles: list[tuple[str, str, str]]  # (class display name, colour, points)
    zero_y: float
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    outliers: list[str] = field(default_factory=list)  # features beyond the clip


def _points(values: np.ndarray) -> str:
    count = len(values)
    xs = np.linspace(8, CHART_WIDTH - 8, count)
    clipped = np.clip(values, -CHART_LIMIT, CHART_LIMIT)
    ys = CHART_HEIGHT / 2 - clipped / CHART_LIMIT * (CHART_HEIGHT / 2 - 6)
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


def feature_chart(
    *,
    features: np.ndarray,
    names: list[str],
    version: ModelVersion | None,
    classes: list[LabelClass],
):
    profiles = (version.metrics.get("profiles") if version else None) or {}
    if len(profiles.get("center", [])) != len(features):
        return None
    scaled = (features - np.asarray(profiles["center"])) / np.asarray(profiles["scale"])
    classes = {c.name: c for c in classes}
    lines = [
        (classes[name].display_name, classes[name].colour, _points(np.asarray(values)))
        for name, values in profiles.get("classes", {}).items()
        if name in classes and len(values) == len(features)
    ]
    outliers = [
        f"{name} {value:+.1f}"
        for name, value in zip(names, scaled, strict=False)
        if abs(value) > CHART_LIMIT
    ]
    return FeatureChart(
        item=_points(scaled), profiles=lines, zero_y=CHART_HEIGHT / 2, outliers=outliers[:6]
    )


@dataclass
class ItemView:
    entry: QueueEntry
    suggested: LabelClass | None
    probability: float | None  # of the suggested class
    chart: FeatureChart | None
    alternatives: list[LabelClass]  # what a reject can become, in hotkey-digit order
    token: str = ""  # the request token the answer to this rendering carries
    when: str = ""  # a date-time in the configured zone, or "<seconds> s"
    when_written: str = ""  # the time as the file wrote it
    currency: str = ""  # the amount's, as the file wrote it; "" when it names none
    facts: list[tuple[str, str]] = field(default_factory=list)  # other columns, as written
    timeline: CardTimeline | None = None  # the card's transactions around this one
    why: list[tuple[str, str, str]] = field(default_factory=list)  # (name, effect, how far)
    rank: str = ""  # where the fraud score falls among the version's: "top 0.3%"
    nearest: list[tuple[str, LabelClass]] = field(default_factory=list)  # (external id, class)

    @property
    def transaction(self):
        return self.entry.transaction


CURRENCY_COLUMNS = ("currency", "currency_code", "ccy")


def nearest_read(explanation, classes: list[LabelClass]) -> list[tuple[str, LabelClass]]:
    """The nearest transactions people labeled (as the run saw them), by external id."""
    pairs = explanation.get("nearest", []) if isinstance(explanation, dict) else []
    if not pairs:
        return []
    by_name = {c.name: c for c in classes}
    ids = [pk for pk, _ in pairs]
    external = dict(Transaction.objects.filter(pk__in=ids).values_list("pk", "external_id"))
    known = [(pk, name) for pk, name in pairs if pk in external and name in by_name]
    return [(external[pk], by_name[name]) for pk, name in known]


def score_rank(score: float | None, version: ModelVersion | None) -> str:
    """'top 0.3%': the share of the version's scored rows that score at least this high."""
    share = score_top_share(score, version.metrics.get("score_quantiles") if version else None)
    if share is None:
        return ""
    return f"top {share:.1%}" if share < 0.1 else f"top {share:.0%}"


def reasons_read(explanation: list | None) -> list[tuple[str, str, str]]:
    """The queue entry's reasons (training/planning.py) in words: what each input does to the
    fraud odds, and how far it is from the typical transaction."""
    if isinstance(explanation, dict):
        explanation = explanation.get("reasons")
    lines = []
    for reason in explanation or []:
        factor = math.exp(abs(reason["log_odds"]))
        verb = "multiplies" if reason["log_odds"] > 0 else "divides"
        effect = f"{verb} the fraud odds by {factor:.1f}"
        deviation = reason["deviation"]
        if reason.get("anomaly"):
            far = f"more unusual than {deviation:.1%} of transactions"
        elif abs(deviation) < 0.05:
            far = "typical"
        else:
            side = "above" if deviation > 0 else "below"
            far = f"{abs(deviation):.1f} interquartile ranges {side} typical"
        lines.append((reason["name"], effect, far))
    return lines


def transaction_facts(transaction) -> tuple[str, str, str, list[tuple[str, str]]]:
    """(the time a person reads: a date-time in the configured zone, else "<seconds> s"; the
    time as the file wrote it; the amount's currency, "" when the file has none; the other
    columns a person reads, as written: card, merchant, category, country, description...)."""
    kept = dict(transaction.attributes or {})
    schema = transaction.dataset.schema or {}
    columns = schema.get("columns", {})
    written = kept.pop(columns.get("time"), None) if columns.get("time") else None
    for role in ("id", "amount"):
        kept.pop(columns.get(role), None)
    currency = next((kept.pop(c) for c in CURRENCY_COLUMNS if kept.get(c)), "")
    facts = [(name, value) for name, value in kept.items() if value not in (None, "")]
    if schema.get("time") == "datetime":
        moment = timezone.localtime(datetime.fromtimestamp(transaction.time, tz=UTC))
        when = dateformat.format(moment, "D j M Y, H:i:s T")
    else:
        when = f"{transaction.time:,.0f} s"
    return when, written or when, str(currency), facts


def item_view(entry: QueueEntry | None, classes: list[LabelClass]) -> ItemView | None:
    if entry is None:
        return None
    transaction = entry.transaction
    # The entry's suggestion: the version that queued the item scored it so.
    suggested = next((c for c in classes if c.pk == entry.suggested_class_id), None)
    version = entry.model_version
    when, written, currency, facts = transaction_facts(transaction)
    return ItemView(
        when=when,
        when_written=written,
        currency=currency,
        facts=facts,
        entry=entry,
        suggested=suggested,
        probability=entry.probability_of(suggested),
        chart=feature_chart(
            features=transaction.feature_vector,
            names=transaction.dataset.feature_names,
            version=version,
            classes=classes,
        ),
        alternatives=[c for c in classes if c != suggested],
        token=uuid.uuid4().hex,
        timeline=card_timeline(transaction, classes),
        why=reasons_read(entry.explanation),
        nearest=nearest_read(entry.explanation, classes),
        rank=score_rank(entry.score, version),
    )


@dataclass
class SessionStats:
    labels: int
    frauds: int
    per_hour: float
    until_retraining: int | None  # 0 once a run waits: it will learn from every label so far
    retraining_queued: bool = False


def session_stats(*, user, since: datetime, dataset=None) -> SessionStats:
    """The annotator's figures, read on every answer: none of them counts over the dataset's
    transactions (the empty queue fetches its count of unlabeled rows on its own)."""
    positive = [c.pk for c in LabelClass.ordered() if c.is_positive]  # no join per answer
    hours = max((timezone.now() - since).total_seconds() / 3600, 1 / 60)
    until, queued = None, False
    active, needed = None, None
    if dataset is not None:
        queued = ModelVersion.queued_for(dataset.pk) is not None
        if not queued:
            needed = TrainingPolicy.current().min_new_labels
            active = ModelVersion.active_for(dataset.pk)
    if active is not None:  # every answer: one statement for all three counts
        labels, frauds, new = _answer_figures(
            user=user, since=since, positive=positive, dataset=dataset, active=active, up_to=needed
        )
    else:
        figures = (
            Label.objects.counted()
            .filter(annotator=user, created_at__gte=since)
            .aggregate(
                labels=Count("id"), frauds=Count("id", filter=Q(label_class_id__in=positive))
            )
        )
        labels, frauds = figures["labels"], figures["frauds"]
        new = new_human_labels(dataset=dataset, up_to=needed) if needed is not None else 0
    if queued:
        until = 0
    elif needed is not None:
        until = max(0, needed - new)
    return SessionStats(
        labels=labels,
        frauds=frauds,
        per_hour=round(labels / hours, 1),
        until_retraining=until,
        retraining_queued=queued,
    )


def _answer_figures(*, user, since, positive, dataset, active, up_to) -> tuple[int, int, int]:
    """(labels this session, frauds among them, people's labels since the active version read
    its training set, counted up to `up_to`): `new_human_labels`'s rule, in one round trip."""
    watermark = active.training_counts.get("last_label_id") or 0
    params = [
        *positive,
        Label.Status.SUPERSEDED.value,
        watermark,
        dataset.pk,
        up_to,
        user.pk,
        Label.Status.SUPERSEDED.value,
        connection.ops.adapt_datetimefield_value(since),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_figures_statement(connection.vendor, len(positive)), params)
        labels, frauds, new = cursor.fetchone()
    return labels, frauds or 0, new


@lru_cache(maxsize=8)
def _figures_statement(vendor: str, positives: int) -> str:
    label, row, column = Label, Transaction, quoted_column
    status, annotator = column(label, "status"), column(label, "annotator")
    fraud = (
        f"l.{column(label, 'label_class')} IN ({', '.join(['%s'] * positives)})"
        if positives
        else "1 = 0"
    )
    # Labels first, then their transaction by primary key (see `new_human_labels`).
    return (
        f"SELECT COUNT(*), SUM(CASE WHEN {fraud} THEN 1 ELSE 0 END), "
        f"(SELECT COUNT(*) FROM (SELECT 1 FROM {quoted_table(label)} n "
        f"WHERE n.{annotator} IS NOT NULL AND n.{status} <> %s AND n.{column(label, 'id')} > %s "
        f"AND EXISTS (SELECT 1 FROM {quoted_table(row)} t WHERE t.{column(row, 'id')} = "
        f"n.{column(label, 'transaction')} AND t.{column(row, 'dataset')} = %s) LIMIT %s) s) "
        f"FROM {quoted_table(label)} l WHERE l.{annotator} = %s AND l.{status} <> %s "
        f"AND l.{column(label, 'created_at')} >= %s"
    )
