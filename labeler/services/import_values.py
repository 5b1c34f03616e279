"""One column's values read from an import's frame, or an error naming file, row and column."""

from __future__ import annotations

import numpy as np
import pandas as pd

from labeler.errors import ImportRejected

MAX_ID_LENGTH = 128


class Where:
    """Formats 'file, row r (line l), column c' so every message points at the same place."""

    def __init__(self, file_name: str, *, lines: bool = True):
        self.file_name = file_name
        self.lines = lines  # False: rows are items of a JSON array, with no lines to point at

    def __call__(self, row_index: int | None = None, column: str | None = None) -> str:
        parts = [self.file_name]
        if row_index is not None:
            line = f" (line {row_index + 2})" if self.lines else ""
            parts.append(f"{'row' if self.lines else 'item'} {row_index + 1}{line}")
        if column is not None:
            parts.append(f"column {column!r}")
        return ", ".join(parts)


def numeric_matrix(frame: pd.DataFrame, columns: list[str], where: Where) -> np.ndarray:
    """Every value a finite number, or an error naming the first bad cell."""
    converted = {}
    for column in columns:
        series = frame[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            converted[column] = pd.to_numeric(series, errors="coerce")
        else:
            converted[column] = series
    matrix = pd.DataFrame(converted).to_numpy(dtype=np.float64)
    bad = ~np.isfinite(matrix)
    if bad.any():
        row = int(np.argmax(bad.any(axis=1)))
        col = int(np.argmax(bad[row]))
        name = columns[col]
        original = frame[name].iloc[row]
        if pd.isna(original):
            problem = "the value is empty"
        elif isinstance(original, str) and not np.isfinite(
            pd.to_numeric(original, errors="coerce")
        ):
            lowered = original.strip().lower()
            if lowered in {"nan", "inf", "-inf", "+inf", "infinity", "-infinity"}:
                problem = f"{original!r} is not a finite number"
            else:
                problem = f"{original!r} is not a number"
        else:
            problem = f"{float(original):g} is not a finite number"
        raise ImportRejected(f"{where(row, name)}: {problem}.")
    return matrix


def float32_features(frame: pd.DataFrame, columns: list[str], where: Where) -> np.ndarray:
    """The numeric feature columns as float32, or an error naming a value too large for it."""
    if not columns:
        return np.zeros((len(frame), 0), "<f4")
    features64 = numeric_matrix(frame, columns, where)
    with np.errstate(over="ignore"):
        features = features64.astype("<f4")
    overflow = ~np.isfinite(features)
    if overflow.any():
        row = int(np.argmax(overflow.any(axis=1)))
        col = int(np.argmax(overflow[row]))
        raise ImportRejected(
            f"{where(row, columns[col])}: {features64[row, col]:g} is too large "
            "for a 32-bit float feature."
        )
    return features


def time_seconds(frame: pd.DataFrame, column: str, where: Where) -> tuple[np.ndarray, str]:
    """Seconds, and whether they were written as "seconds" or as ISO date-times (then since
    1970-01-01 UTC; a date-time without an offset is taken as UTC)."""
    series = frame[column]
    numbers = pd.to_numeric(series, errors="coerce")
    if numbers.notna().all():
        return numeric_matrix(frame, [column], where)[:, 0], "seconds"
    if numbers.isna().all() and series.notna().all():
        stamps = pd.to_datetime(series, errors="coerce", utc=True, format="ISO8601")
        if stamps.notna().all():
            seconds = (stamps - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
            return seconds.to_numpy(), "datetime"
        row = int(np.argmax(stamps.isna().to_numpy()))
    else:
        row = int(np.argmax(numbers.isna().to_numpy()))
    value = series.iloc[row]
    problem = "the value is empty" if pd.isna(value) else f"{value!r} is"
    if not pd.isna(value):
        problem += " neither a number of seconds nor an ISO date-time like 2026-01-05T13:45:00Z"
    raise ImportRejected(f"{where(row, column)}: {problem}.")


def external_ids(frame: pd.DataFrame, column: str, where: Where) -> list[str]:
    ids = frame[column].str.strip()
    empty = ids.isna() | (ids == "")
    if empty.any():
        row = int(np.argmax(empty.to_numpy()))
        raise ImportRejected(f"{where(row, column)}: the id is empty.")
    too_long = ids.str.len() > MAX_ID_LENGTH
    if too_long.any():
        row = int(np.argmax(too_long.to_numpy()))
        raise ImportRejected(
            f"{where(row, column)}: the id is longer than {MAX_ID_LENGTH} characters."
        )
    duplicated = ids.duplicated(keep=False).to_numpy()
    if duplicated.any():
        first = int(np.argmax(duplicated))
        rows = np.flatnonzero((ids == ids.iloc[first]).to_numpy())
        raise ImportRejected(
            f"{where(int(rows[1]), column)}: id {ids.iloc[first]!r} also appears on row "
            f"{rows[0] + 1}; ids must be unique."
        )
    return ids.tolist()
