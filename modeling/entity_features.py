"""Per-entity derived features: how a transaction compares with its card's and its merchant's
history, and when it happened (the ULB fraud-detection handbook's feature set, generalised).

For every entity column (a card, a customer, a merchant, a terminal) and every window:
- how many of the entity's transactions fall in the window ending at this one (itself included),
- their mean amount, and this amount in standard deviations from it,
- seconds since the entity's previous transaction;
for the entities named for risk (merchants, terminals): the share of the entity's transactions
in a delayed window reported as fraud, counting only fraud labels known before the transaction's
time minus the delay, so that no feature of a transaction uses a label given after it; and the
calendar: weekend, night, hour of day.

Everything is computed in bulk with NumPy from arrays: rows sorted once per entity, windows
found by binary search, sums by cumulative sums. The same inputs give the same features, bit
for bit, whatever the rows' order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SECONDS_PER_DAY = 86_400.0


@dataclass
class EntityFeatureConfig:
    windows_days: tuple[float, ...] = (1.0, 7.0, 30.0)
    # Merchant risk: labels known before (time - delay) count, over the windows before it.
    risk_delay_days: float = 7.0
    night_hours: tuple[int, int] = (0, 6)  # [from, to) in UTC hours
    entities: tuple[str, ...] = field(default_factory=tuple)  # column names, in order
    risk_entities: tuple[str, ...] = field(default_factory=tuple)  # of those, for risk


def _window_starts(keys: np.ndarray, times: np.ndarray, span: float) -> np.ndarray:
    """For rows sorted by (key, time): the first row of the same key within `span` seconds
    before each row (the window (t - span, t])."""
    # Keys are dense integers; a composite of key and time orders rows as they are sorted.
    spread = float(times.max() - times.min()) + span + 1.0 if len(times) else 1.0
    composite = keys * spread + (times - times.min() if len(times) else times)
    return np.searchsorted(composite, composite - span, side="right")


def _entity_windows(
    codes: np.ndarray, times: np.ndarray, amount: np.ndarray, windows: tuple[float, ...]
) -> tuple[np.ndarray, list[str]]:
    """Count, mean amount and the amount's deviation from it per window, and the time since
    the previous transaction, in the rows' own order."""
    order = np.lexsort((np.arange(len(codes)), times, codes))
    key, when, spent = codes[order], times[order], amount[order]
    sums = np.concatenate([[0.0], np.cumsum(spent)])
    squares = np.concatenate([[0.0], np.cumsum(spent**2)])
    position = np.arange(len(order))
    columns, names = [], []
    for days in windows:
        first = _window_starts(key, when, days * SECONDS_PER_DAY)
        count = position - first + 1
        total = sums[position + 1] - sums[first]
        mean = total / count
        variance = np.maximum((squares[position + 1] - squares[first]) / count - mean**2, 0.0)
        deviation = (spent - mean) / np.sqrt(variance + 1.0)  # +1: no blow-up at 1 row
        columns += [count, mean, deviation]
        names += [f"count_{days:g}d", f"mean_amount_{days:g}d", f"amount_deviation_{days:g}d"]
    same = np.concatenate([[False], key[1:] == key[:-1]])
    longest = max(windows) * SECONDS_PER_DAY
    gap = np.where(same, np.diff(when, prepend=when[:1]), longest)
    columns.append(np.minimum(gap, longest))
    names.append("seconds_since_previous")
    result = np.empty((len(order), len(columns)))
    result[order] = np.stack(columns, axis=1)
    return result, names


def _entity_risk(
    codes: np.ndarray,
    times: np.ndarray,
    fraud_known_at: np.ndarray,
    windows: tuple[float, ...],
    delay: float,
) -> tuple[np.ndarray, list[str]]:
    """Per window w: frauds reported (label known) in [t - delay - w, t - delay) on the
    entity, over the entity's transactions in that window; 0 where it had none."""
    count = len(codes)
    order = np.lexsort((times, codes))
    key, when = codes[order], times[order]
    reported = np.flatnonzero(~np.isnan(fraud_known_at))
    report_order = np.lexsort((fraud_known_at[reported], codes[reported]))
    report_key = codes[reported][report_order]
    report_at = fraud_known_at[reported][report_order]
    base = min(when.min() if count else 0.0, report_at.min() if len(report_at) else 0.0)
    longest = max(windows) * SECONDS_PER_DAY + delay
    spread = float(max(when.max() if count else 0.0, report_at.max() if len(report_at) else 0.0))
    spread = spread - base + longest + 1.0

    def position(keys, at, sorted_keys, sorted_at):  # rows of the same key at or before `at`
        return np.searchsorted(
            sorted_keys * spread + (sorted_at - base), keys * spread + (at - base)
        )

    columns, names = [], []
    end = when - delay
    for days in windows:
        start = end - days * SECONDS_PER_DAY
        # Transactions in [start, end) and reports known in [start, end), per entity.
        traffic = position(key, end, key, when) - position(key, start, key, when)
        frauds = position(key, end, report_key, report_at) - position(
            key, start, report_key, report_at
        )
        columns.append(np.where(traffic > 0, frauds / np.maximum(traffic, 1), 0.0))
        names.append(f"risk_{days:g}d")
    result = np.empty((count, len(columns)))
    result[order] = np.stack(columns, axis=1)
    return result, names


def calendar_features(times: np.ndarray, config: EntityFeatureConfig) -> tuple[np.ndarray, list]:
    """Weekend, night and the hour of day on a circle, from seconds since 1970-01-01 UTC."""
    days = np.floor(times / SECONDS_PER_DAY)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    hour = (times % SECONDS_PER_DAY) / 3600.0
    low, high = config.night_hours
    angle = 2 * np.pi * hour / 24.0
    return (
        np.stack(
            [
                (weekday >= 5).astype(float),
                ((hour >= low) & (hour < high)).astype(float),
                np.sin(angle),
                np.cos(angle),
            ],
            axis=1,
        ),
        ["weekend", "night", "hour_sin", "hour_cos"],
    )


def entity_features(
    *,
    times: np.ndarray,
    amount: np.ndarray,
    entities: dict[str, np.ndarray],
    fraud_known_at: np.ndarray | None = None,
    config: EntityFeatureConfig | None = None,
) -> tuple[np.ndarray, list[str]]:
    """The derived features of every row, (rows, features) float32, and their names.

    `times`: seconds since 1970-01-01 UTC; `entities`: per entity column, one integer code per
    row (the same code, the same entity); `fraud_known_at`: per row, when a fraud label on it
    became known (seconds, NaN: no known fraud label), from human and trusted labels only."""
    config = config or EntityFeatureConfig()
    times = np.asarray(times, np.float64)
    amount = np.asarray(amount, np.float64)
    known = (
        np.full(len(times), np.nan)
        if fraud_known_at is None
        else np.asarray(fraud_known_at, np.float64)
    )
    blocks, names = [], []
    for name, codes in entities.items():
        codes = np.asarray(codes, np.int64)
        values, columns = _entity_windows(codes, times, amount, config.windows_days)
        blocks.append(values)
        names += [f"{name}_{column}" for column in columns]
        if name in config.risk_entities:
            delay = config.risk_delay_days * SECONDS_PER_DAY
            values, columns = _entity_risk(codes, times, known, config.windows_days, delay)
            blocks.append(values)
            names += [f"{name}_{column}" for column in columns]
    values, columns = calendar_features(times, config)
    blocks.append(values)
    names += columns
    return np.hstack(blocks).astype(np.float32), names
