"""How a version's audit estimate reads on the pages: each figure with its interval and what it
is measured on, or what is missing for it (STYLE.md rule 14)."""

from __future__ import annotations

from dataclasses import dataclass, field

from labeler.models import ModelVersion


@dataclass
class Figure:
    name: str
    value: str
    interval: str
    meaning: str


@dataclass
class QualityView:
    ready: bool
    basis: str  # what the figures are measured on
    short: str  # the AP and its interval in a table cell, or what is missing
    figures: list[Figure] = field(default_factory=list)
    missing: str = ""


def _share(value: float) -> str:
    return f"{value * 100:g}%"


def _figure(quality: dict, key: str, *, digits: int = 2) -> tuple[str, str]:
    figure = quality[key]
    return (
        f"{figure['value']:.{digits}f}",
        f"{figure['low']:.{digits}f}\N{EN DASH}{figure['high']:.{digits}f}",
    )


def quality_view(version: ModelVersion | None) -> QualityView | None:
    """None for a version trained before the audit existed (or none at all)."""
    if version is None:
        return None
    quality = (version.metrics or {}).get("quality")
    if not quality:
        return None
    labels, frauds = quality.get("labels", 0), quality.get("frauds", 0)
    frame = quality.get("frame_rows", 0)
    basis = (
        f"{labels} audit label{'s' * (labels != 1)} ({frauds} fraud{'s' * (frauds != 1)}), "
        f"drawn at random from the audit frame of {frame:,} transactions that no model learns "
        "from, each weighted by the inverse of its inclusion probability"
    )
    if quality.get("waiting_for") == "an audit frame":
        return QualityView(
            ready=False,
            basis=basis,
            short="no audit frame",
            missing="This dataset has no audit frame (AUDIT_FRAME_SHARE was 0 when it was made): "
            "no label is set apart to measure its versions honestly.",
        )
    if quality.get("waiting_for"):
        return QualityView(
            ready=False,
            basis=basis,
            short="after cold start",
            missing=f"The audit estimate needs {quality['waiting_for']}: the first version "
            "trained on a fraud label is the first one measured.",
        )
    if "average_precision" not in quality:
        needed = quality.get("needed_labels", 0)
        share = ((version.hyperparameters or {}).get("audit") or {}).get("share") or 0
        total = f" (about {round(needed / share):,} labels at the {_share(share)} audit share)"
        more_frauds = quality.get("needed_frauds", 0)
        fraud_part = (
            f" and {more_frauds} more audit fraud{'s' * (more_frauds != 1)}"
            if more_frauds and not frauds
            else ""
        )
        return QualityView(
            ready=False,
            basis=basis,
            short=f"needs {needed} more audit labels",
            missing=f"Too few audit labels for an estimate: it needs about {needed} more audit "
            f"labels{total if share else ''}{fraud_part}.",
        )
    level = round(quality.get("level", 0.9) * 100)
    value, interval = _figure(quality, "average_precision", digits=3)
    figures = [
        Figure(
            "Average precision",
            value,
            interval,
            "on transactions the version has not seen (the audit frame)",
        )
    ]
    precision = _figure(quality, "precision_at_top")
    figures.append(
        Figure(
            f"Precision in the top {_share(quality['top_share'])}",
            *precision,
            f"share of fraud among the {quality['top_count']:,} highest-scored transactions",
        )
    )
    recall = _figure(quality, "recall_at_budget")
    figures.append(
        Figure(
            f"Recall at a {_share(quality['budget_share'])} review budget",
            *recall,
            f"share of all frauds among the {quality['budget_count']:,} highest-scored "
            "transactions",
        )
    )
    missed = quality["frauds_missed"]
    figures.append(
        Figure(
            "Frauds still unlabeled",
            f"about {missed['value']:,.0f}",
            f"{missed['low']:,.0f}\N{EN DASH}{missed['high']:,.0f}",
            "estimated frauds in the dataset that no person has labeled yet",
        )
    )
    return QualityView(
        ready=True,
        basis=f"{basis}; {level}% intervals",
        short=f"{value} ({interval})",
        figures=figures,
    )
