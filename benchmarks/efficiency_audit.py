"""label_efficiency.py's audit report: each version's audit estimate beside its true test AP."""

from __future__ import annotations

import numpy as np
from efficiency_strategies import area


def estimate_table(name: str, runs, *, from_labels: int) -> list[str]:
    """One row per version: test AP and the audit estimate with its interval, per seed."""
    lines = [
        f"\n{name}: audit estimate of AP [90% interval] against the true test AP, per seed "
        "('*': the interval covers it; '-': too few audit labels yet)"
    ]
    sizes = runs[0].labels
    lines.append(f"{'labels':>6} " + " ".join(f"{'seed ' + str(s):>30}" for s in range(len(runs))))
    for row, size in enumerate(sizes):
        cells = []
        for curve in runs:
            if row >= len(curve.labels):
                cells.append(f"{'':>30}")
                continue
            truth, estimate = curve.ap[row], curve.estimates[row]
            if estimate is None:
                cells.append(f"{truth:>8.3f}  {'-':>20}")
                continue
            mark = "*" if estimate["low"] <= truth <= estimate["high"] else " "
            interval = f"{estimate['value']:.3f} [{estimate['low']:.2f}, {estimate['high']:.2f}]"
            cells.append(f"{truth:>8.3f}  {interval:>19}{mark}")
        lines.append(f"{size:>6} " + " ".join(f"{cell:>30}" for cell in cells))
    lines.append("  " + summary(runs, from_labels=from_labels))
    return lines


def coverage(runs, *, from_labels: int) -> tuple[float, int, int]:
    """Share of versions from `from_labels` labels on whose interval covers the true test AP
    (a version without an estimate counts as not covered), and the counts."""
    covered = total = 0
    for curve in runs:
        for size, truth, estimate in zip(curve.labels, curve.ap, curve.estimates, strict=True):
            if size < from_labels:
                continue
            total += 1
            covered += estimate is not None and estimate["low"] <= truth <= estimate["high"]
    return (covered / total if total else float("nan")), covered, total


def summary(runs, *, from_labels: int) -> str:
    share, covered, total = coverage(runs, from_labels=from_labels)
    audit = np.mean([c.audit_labels[-1] / c.labels[-1] for c in runs if c.labels])
    widths = [
        e["high"] - e["low"]
        for c in runs
        for size, e in zip(c.labels, c.estimates, strict=True)
        if e is not None and size >= from_labels
    ]
    width = f"{np.mean(widths):.2f}" if widths else "-"
    return (
        f"from {from_labels} labels: {covered} of {total} intervals cover the test AP "
        f"({share:.0%}); mean interval width {width}; audit labels {audit:.1%} of all labels"
    )


def largest_drop(runs) -> float:
    return max(
        (max(0.0, a - b) for c in runs for a, b in zip(c.ap, c.ap[1:], strict=False)),
        default=0.0,
    )


def audit_targets(curves, chance, args) -> list[str]:
    def area_of(name):
        return np.mean([area(c.labels, c.ap, chance, args.budget) for c in curves[name]])

    lines = []
    offline = area_of("fraudloop")
    if "fraudloop (product)" in curves:
        product = area_of("fraudloop (product)")
        lines.append(f"  product area / offline area      {product / offline:.3f}  (>= 1.00)")
        if "baseline" in curves:
            ratio = product / area_of("baseline")
            lines.append(f"  product area / baseline area     {ratio:.3f}  (>= 1.15)")
    for name in ("fraudloop", "fraudloop (product)"):
        if name in curves:
            lines.append(f"  {name}: {summary(curves[name], from_labels=300)}  (>= 80%, <= 10%)")
            drop = largest_drop(curves[name])
            lines.append(f"  {name}: largest AP drop between versions {drop:.3f}  (<= 0.05)")
    return lines
