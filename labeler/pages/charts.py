"""Small inline SVG charts for the pages: coordinates computed here, drawn by templates."""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH, HEIGHT, MARGIN = 560, 180, 32


@dataclass
class Series:
    name: str
    colour: str
    points: str  # "x,y x,y ..." for a polyline
    dots: list[tuple[float, float, str]]  # (x, y, tooltip)
    intervals: list[tuple[float, float, float]] = field(default_factory=list)  # (x, top, bottom)


@dataclass
class LineChart:
    series: list[Series]
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    x_label: str
    y_label: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = MARGIN
    bottom: float = HEIGHT - MARGIN / 2


def _scale(value, low, high, start, end):
    if high == low:
        return (start + end) / 2
    return start + (value - low) / (high - low) * (end - start)


def line_chart(
    data: dict[str, tuple[str, list[tuple[float, ...]]]],
    *,
    x_label: str,
    y_label: str,
    y_range: tuple[float, float] = (0.0, 1.0),
) -> LineChart | None:
    """Lines through each series' (x, y) points, and a vertical bar from low to high where a
    point comes as (x, y, low, high); None when there is nothing to draw."""
    xs = [point[0] for _, points in data.values() for point in points]
    if not xs:
        return None
    x_low, x_high = 0.0, max(xs)
    chart = LineChart(series=[], x_ticks=[], y_ticks=[], x_label=x_label, y_label=y_label)
    top, bottom, right = MARGIN / 2, chart.bottom, WIDTH - MARGIN / 2

    def at(x, y):
        return (
            round(_scale(x, x_low, x_high, MARGIN, right), 1),
            round(_scale(y, *y_range, bottom, top), 1),
        )

    for name, (colour, points) in data.items():
        placed, intervals = [], []
        for point in sorted(points):
            x, y = point[:2]
            tip = f"{name}: {y:.3f} at {x:g}"
            if len(point) == 4:
                low, high = point[2:]
                tip += f" ({low:.3f}\N{EN DASH}{high:.3f})"
                intervals.append((at(x, y)[0], at(x, high)[1], at(x, low)[1]))
            placed.append((*at(x, y), tip))
        chart.series.append(
            Series(name, colour, " ".join(f"{x},{y}" for x, y, _ in placed), placed, intervals)
        )
    chart.x_ticks = [(at(x, y_range[0])[0], f"{x:g}") for x in _ticks(x_low, x_high)]
    chart.y_ticks = [(at(0, y)[1], f"{y:g}") for y in _ticks(*y_range)]
    return chart


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = (high - low) / (count - 1)
    return [round(low + i * step, 3) for i in range(count)]


@dataclass
class BarChart:
    bars: list[tuple[float, float, float, float, str]]  # x, y, width, height, tooltip
    labels: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, count): axis and grid
    peak: int = 0
    width: int = WIDTH
    height: int = 110
    left: int = MARGIN  # the axis's x; its tick labels sit to its left
    base: float = 110 - 16  # the y of a zero count
    unit: str = "labels"  # what the bars count
    caption: str = "labels answered"  # what the bars count, in the chart's caption


def _count_ticks(peak: int) -> list[int]:
    """0, the peak rounded up to a round number, and its half when that is whole: 0/5/10,
    0/50/100, 0/1 for a peak of 1."""
    if peak <= 0:
        return [0]
    magnitude = 10 ** (len(str(peak)) - 1)
    top = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= peak)
    return [0, top // 2, top] if top % 2 == 0 else [0, top]


def bar_chart(
    values: list[tuple[str, int]],
    *,
    every: int = 4,
    unit: str = "labels",
    caption: str = "labels answered",
) -> BarChart:
    """One bar per value on a count axis, labelled every `every` bars; `unit` names what the
    bars count (tooltips, the axis), `caption` says it in words."""
    chart = BarChart(
        bars=[], peak=max((v for _, v in values), default=0), unit=unit, caption=caption
    )
    ticks = _count_ticks(chart.peak)
    top = max(ticks[-1], 1)
    plot = chart.base - 8  # the height a count of `top` reaches
    chart.y_ticks = [(round(chart.base - tick / top * plot, 1), f"{tick:,}") for tick in ticks]
    if not values:
        return chart
    slot = (chart.width - chart.left) / len(values)
    for index, (label, value) in enumerate(values):
        height = value / top * plot
        x = chart.left + index * slot
        chart.bars.append(
            (
                round(x + 1, 1),
                round(chart.base - height, 1),
                round(slot - 2, 1),
                round(height, 1),
                f"{label}: {value:,} {unit}",
            )
        )
        if index % every == 0:
            chart.labels.append((round(x + 1, 1), label))  # drawn from the bar's left edge
    return chart
