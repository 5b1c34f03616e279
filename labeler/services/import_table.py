"""Reads an unpacked transaction CSV (see import_file) into validated arrays; no database."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labeler.errors import ImportRejected
from labeler.services.import_options import ColumnChoice, names_listed

# Column names recognised when the caller does not name a column (compared case-insensitively).
ID_CANDIDATES = ("id", "transaction_id", "external_id", "txn_id")
TIME_CANDIDATES = ("time", "timestamp", "datetime", "date")
AMOUNT_CANDIDATES = ("amount", "amt", "value")
LABEL_CANDIDATES = ("class", "label", "is_fraud", "fraud")
MAX_ID_LENGTH = 128


@dataclass
class ParsedTable:
    row_count: int
    external_ids: list[str] | None  # None: the file has no id column, rows are numbered
    time: np.ndarray  # float64 seconds
    amount: np.ndarray  # float64
    features: np.ndarray  # float32, (rows, features)
    feature_names: list[str]
    labels: np.ndarray | None  # object array of label values as text, "" where empty
    column_mapping: dict[str, object] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)


class _Where:
    """Formats 'file, row r (line l), column c' so every message points at the same place."""

    def __init__(self, file_name: str):
        self.file_name = file_name

    def __call__(self, row_index: int | None = None, column: str | None = None) -> str:
        parts = [self.file_name]
        if row_index is not None:
            parts.append(f"row {row_index + 1} (line {row_index + 2})")
        if column is not None:
            parts.append(f"column {column!r}")
        return ", ".join(parts)


def _header(text_path: Path, where: _Where) -> list[str]:
    with text_path.open("rb") as text:
        first_line = text.readline().decode("utf-8").rstrip("\r\n")
    try:
        names = next(csv.reader([first_line]))
    except csv.Error as error:
        raise ImportRejected(f"{where()}, line 1: the header is not CSV ({error}).") from error
    names = [name.strip() for name in names]
    if len(names) < 3:
        raise ImportRejected(
            f"{where()}, line 1: found {len(names)} column(s); a transaction CSV needs at least "
            "a time, an amount and one feature column separated by commas."
        )
    if "" in names:
        raise ImportRejected(
            f"{where()}, line 1: column {names.index('') + 1} has no name in the header."
        )
    seen: set[str] = set()
    duplicated = sorted({name for name in names if name in seen or seen.add(name)})
    if duplicated:
        raise ImportRejected(f"{where()}, line 1: duplicated column(s) {names_listed(duplicated)}.")
    return names


def _pick(
    names: list[str],
    chosen: str | None,
    candidates: tuple[str, ...],
    role: str,
    where: _Where,
    *,
    required: bool,
) -> str | None:
    if chosen is not None:
        if chosen not in names:
            raise ImportRejected(
                f"{where()}: the {role} column {chosen!r} is missing; the file has "
                f"{names_listed(names)}."
            )
        return chosen
    by_lower = {name.lower(): name for name in names}
    for candidate in candidates:
        if candidate in by_lower:
            return by_lower[candidate]
    if required:
        raise ImportRejected(
            f"{where()}: no {role} column (looked for {', '.join(candidates)}); "
            f"name it with --{role}-column. The file has {names_listed(names)}."
        )
    return None


def _read_frame(text_path: Path, names: list[str], text_columns: list[str], where: _Where):
    try:
        frame = pd.read_csv(
            text_path,
            header=0,
            names=names,
            dtype={name: str for name in text_columns},
            keep_default_na=False,
            na_values=[""],
            low_memory=False,
            skipinitialspace=True,
        )
    except pd.errors.EmptyDataError as error:
        raise ImportRejected(f"{where()}: the file is empty.") from error
    except pd.errors.ParserError as error:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        if found:
            expected, line, saw = found.groups()
            raise ImportRejected(
                f"{where()}, line {line}: {saw} fields where the header has {expected}."
            ) from error
        raise ImportRejected(f"{where()}: not a well-formed CSV file ({error}).") from error
    if len(frame) == 0:
        raise ImportRejected(f"{where()}: the header is there but no data rows follow.")
    return frame


def _numeric_matrix(frame: pd.DataFrame, columns: list[str], where: _Where) -> np.ndarray:
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


def _is_text_column(series: pd.Series) -> bool:
    """A column where no value reads as a number is text (a merchant name, say), not a feature."""
    if not (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)):
        return False
    return bool(pd.to_numeric(series, errors="coerce").isna().all())


def _time_seconds(frame: pd.DataFrame, column: str, where: _Where) -> np.ndarray:
    series = frame[column]
    if _is_text_column(series) and series.notna().all():
        stamps = pd.to_datetime(series, errors="coerce", utc=True, format="ISO8601")
        if stamps.notna().all():
            return (stamps - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy()
        row = int(np.argmax(stamps.isna().to_numpy()))
        raise ImportRejected(
            f"{where(row, column)}: {series.iloc[row]!r} is neither a number of seconds "
            "nor an ISO date-time."
        )
    return _numeric_matrix(frame, [column], where)[:, 0]


def _external_ids(frame: pd.DataFrame, column: str, where: _Where) -> list[str]:
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


def table_read(
    text_path: Path, *, file_name: str, columns: ColumnChoice, with_labels: bool
) -> ParsedTable:
    """Parses checked UTF-8 CSV text into arrays, or raises ImportRejected naming row and
    column."""
    where = _Where(file_name)
    names = _header(text_path, where)
    id_column = _pick(names, columns.id_column, ID_CANDIDATES, "id", where, required=False)
    time_column = _pick(names, columns.time_column, TIME_CANDIDATES, "time", where, required=True)
    amount_column = _pick(
        names, columns.amount_column, AMOUNT_CANDIDATES, "amount", where, required=True
    )
    label_column = _pick(
        names, columns.label_column, LABEL_CANDIDATES, "label", where, required=with_labels
    )
    roles = [c for c in (id_column, time_column, amount_column, label_column) if c is not None]
    if len(set(roles)) != len(roles):
        raise ImportRejected(f"{where()}: one column was given two parts: {roles}.")
    if columns.feature_columns is not None:
        missing = [name for name in columns.feature_columns if name not in names]
        if missing:
            raise ImportRejected(
                f"{where()}: feature column(s) {names_listed(missing)} missing from the file."
            )
        clashing = [name for name in columns.feature_columns if name in roles]
        if clashing:
            raise ImportRejected(
                f"{where()}: {names_listed(clashing)} cannot be both a feature and {roles}."
            )
        candidate_features = list(columns.feature_columns)
    else:
        candidate_features = [name for name in names if name not in roles]

    text_columns = [c for c in (id_column, label_column) if c is not None]
    frame = _read_frame(text_path, names, text_columns, where)

    ignored: list[str] = []
    if columns.feature_columns is None:
        ignored = [name for name in candidate_features if _is_text_column(frame[name])]
        candidate_features = [name for name in candidate_features if name not in ignored]
    if not candidate_features:
        raise ImportRejected(f"{where()}: no numeric feature columns besides time and amount.")

    features64 = _numeric_matrix(frame, candidate_features, where)
    with np.errstate(over="ignore"):
        features = features64.astype("<f4")
    overflow = ~np.isfinite(features)
    if overflow.any():
        row = int(np.argmax(overflow.any(axis=1)))
        col = int(np.argmax(overflow[row]))
        raise ImportRejected(
            f"{where(row, candidate_features[col])}: {features64[row, col]:g} is too large "
            "for a 32-bit float feature."
        )
    labels = None
    if with_labels:
        labels = frame[label_column].fillna("").str.strip().to_numpy(dtype=object)
    return ParsedTable(
        row_count=len(frame),
        external_ids=_external_ids(frame, id_column, where) if id_column else None,
        time=_time_seconds(frame, time_column, where),
        amount=_numeric_matrix(frame, [amount_column], where)[:, 0],
        features=features,
        feature_names=candidate_features,
        labels=labels,
        column_mapping={
            "id": id_column,
            "time": time_column,
            "amount": amount_column,
            "label": label_column,
            "features": candidate_features,
        },
        ignored_columns=ignored,
    )
