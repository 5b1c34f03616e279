"""The reviewer dashboard's figures: how often reviewers agree with each annotator, how precise
each model version's pseudo-labels are by its spot checks, and what waits for review."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Count, Min

from labeler.models import Label, ModelVersion, Review, ReviewItem


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


@dataclass
class AnnotatorQuality:
    annotator: str
    labels: int  # standing human labels (active or overruled)
    reviewed: int
    agreed: int
    overruled: int
    sent_back: int

    @property
    def agreement_rate(self) -> float | None:
        return _rate(self.agreed, self.reviewed)

    @property
    def overrule_rate(self) -> float | None:
        return _rate(self.overruled, self.reviewed)


def _latest_verdicts(reviews) -> dict[int, str]:
    """target id -> the verdict of its latest standing review (agree / overrule)."""
    latest: dict[int, str] = {}
    for target, verdict in reviews.order_by("created_at", "id"):
        latest[target] = verdict
    return latest


def annotator_quality() -> list[AnnotatorQuality]:
    standing = Label.objects.filter(
        annotator__isnull=False, status__in=[Label.Status.ACTIVE, Label.Status.OVERRULED]
    )
    labels = dict(
        standing.values_list("annotator__username").annotate(count=Count("id")).order_by()
    )
    owner = dict(standing.values_list("id", "annotator__username"))
    verdicts = Review.objects.filter(status=Review.Status.ACTIVE, label__isnull=False)
    latest = _latest_verdicts(
        verdicts.exclude(verdict=Review.Verdict.SEND_BACK).values_list("label_id", "verdict")
    )
    sent_back = Counter(
        owner.get(label_id)
        for label_id in verdicts.filter(verdict=Review.Verdict.SEND_BACK).values_list(
            "label_id", flat=True
        )
    )
    agreed, overruled = Counter(), Counter()
    for label_id, verdict in latest.items():
        if label_id in owner:
            (agreed if verdict == Review.Verdict.AGREE else overruled)[owner[label_id]] += 1
    return [
        AnnotatorQuality(
            annotator=name,
            labels=count,
            reviewed=agreed[name] + overruled[name],
            agreed=agreed[name],
            overruled=overruled[name],
            sent_back=sent_back[name],
        )
        for name, count in sorted(labels.items())
    ]


@dataclass
class ClassPrecision:
    label_class: str
    written: int | None  # pseudo-labels of this class the version wrote (None: not recorded)
    checked: int
    correct: int

    @property
    def precision(self) -> float | None:
        return _rate(self.correct, self.checked)


@dataclass
class VersionPrecision:
    version: ModelVersion
    classes: list[ClassPrecision]

    @property
    def checked(self) -> int:
        return sum(c.checked for c in self.classes)

    @property
    def precision(self) -> float | None:
        """Over all the version's pseudo-labels: each class's spot-check precision weighted by
        how many pseudo-labels of that class the version wrote (the checks draw the same
        number per class, so a plain average would overweight the rare class)."""
        measured = [c for c in self.classes if c.precision is not None and c.written]
        total = sum(c.written for c in measured)
        if not total:
            return None
        return sum(c.precision * c.written for c in measured) / total


def pseudo_label_precision() -> list[VersionPrecision]:
    checks = Review.objects.filter(status=Review.Status.ACTIVE, pseudo_label__isnull=False).exclude(
        verdict=Review.Verdict.SEND_BACK
    )
    latest = _latest_verdicts(checks.values_list("pseudo_label_id", "verdict"))
    found: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for pseudo_id, version_id, class_name in (
        checks.values_list(
            "pseudo_label_id", "pseudo_label__model_version_id", "pseudo_label__label_class__name"
        )
        .order_by()
        .distinct()
    ):
        tally = found[version_id][class_name]
        tally[0] += 1
        tally[1] += latest[pseudo_id] == Review.Verdict.AGREE
    versions = ModelVersion.objects.filter(pk__in=found).order_by("-pk")
    result = []
    for version in versions:
        written = version.training_counts.get("pseudo_labels_by_class") or {}
        result.append(
            VersionPrecision(
                version=version,
                classes=[
                    ClassPrecision(
                        label_class=name, written=written.get(name), checked=c, correct=ok
                    )
                    for name, (c, ok) in sorted(found[version.pk].items())
                ],
            )
        )
    return result


@dataclass
class ReviewBacklog:
    by_reason: list[tuple[str, int]]  # (reason shown to people, open items)
    total: int
    oldest: object  # datetime of the oldest open item, or None


def review_backlog() -> ReviewBacklog:
    open_items = ReviewItem.objects.filter(resolved_at__isnull=True)
    counts = dict(open_items.values_list("reason").annotate(count=Count("id")).order_by())
    labels = dict(ReviewItem.Reason.choices)
    return ReviewBacklog(
        by_reason=[(labels[reason], counts.get(reason, 0)) for reason in labels],
        total=sum(counts.values()),
        oldest=open_items.aggregate(oldest=Min("created_at"))["oldest"],
    )
