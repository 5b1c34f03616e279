"""Reads an unpacked transaction CSV (see import_file) into validated arrays; no database."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labeler.errors import ImportRejected
from labeler.services.import_columns import (
    CARD_CANDIDATES,
    CATEGORY_CANDIDATES,
    MERCHANT_CANDIDATES,
    TEXT_CANDIDATES,
    ColumnRoles,
    attributes_json,
    category_features,
    entity_keys,
    found,
    is_text,
    named_like,
    text_columns_sorted,
)
from labeler.services.import_columns import category_levels as category_levels_of
from labeler.services.import_options import ColumnChoice, names_listed
from labeler.services.import_values import (
    Where,
    external_ids,
    float32_features,
    numeric_matrix,
    time_seconds,
)

# Column names recognised when the caller does not name a column (compared case-insensitively).
ID_CANDIDATES = ("id", "transaction_id", "external_id", "txn_id")
TIME_CANDIDATES = ("time", "timestamp", "datetime", "date")
AMOUNT_CANDIDATES = ("amount", "amt", "value")
LABEL_CANDIDATES = ("class", "label", "is_fraud", "fraud")


@dataclass
class ParsedTable:
    row_count: int
    external_ids: list[str] | None  # None: the file has no id column, rows are numbered
    time: np.ndarray  # float64 seconds
    amount: np.ndarray  # float64
    features: np.ndarray  # float32, (rows, features): numeric columns, then categories' levels
    feature_names: list[str]
    labels: np.ndarray | None  # object array of label values as text, "" where empty
    column_mapping: dict[str, object] = field(default_factory=dict)
    card_keys: np.ndarray | None = None  # object array of texts
    merchant_keys: np.ndarray | None = None
    attributes: list[str] | None = None  # one JSON object per row: the columns kept as written
    schema: dict = field(default_factory=dict)  # what Dataset.schema records of this layout


def table_rows(table: ParsedTable, keep: np.ndarray) -> ParsedTable:
    """The table's rows where `keep` (bool per row) holds, in order."""

    def some(values):
        return None if values is None else values[keep]

    positions = np.flatnonzero(keep).tolist()
    return ParsedTable(
        row_count=len(positions),
        external_ids=None
        if table.external_ids is None
        else [table.external_ids[i] for i in positions],
        time=table.time[keep],
        amount=table.amount[keep],
        features=table.features[keep],
        feature_names=table.feature_names,
        labels=some(table.labels),
        column_mapping=table.column_mapping,
        card_keys=some(table.card_keys),
        merchant_keys=some(table.merchant_keys),
        attributes=None if table.attributes is None else [table.attributes[i] for i in positions],
        schema=table.schema,
    )


def _header(text_path: Path, where: Where) -> list[str]:
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
    where: Where,
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


def _read_frame(text_path: Path, names: list[str], text_columns: list[str], where: Where):
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


def _roles(names: list[str], columns: ColumnChoice, taken: set[str], where: Where) -> ColumnRoles:
    """The card, merchant, category and text columns: as named, else found from the header."""

    def named_or_found(chosen, candidates, role):
        if chosen == "":
            return None
        if chosen is not None:
            return _pick(names, chosen, candidates, role, where, required=True)
        column = found(names, candidates)
        return column if column not in taken else None

    roles = ColumnRoles(
        card=named_or_found(columns.card_column, CARD_CANDIDATES, "card"),
        merchant=named_or_found(columns.merchant_column, MERCHANT_CANDIDATES, "merchant"),
    )
    taken = taken | {c for c in (roles.card, roles.merchant) if c}
    for part, chosen in (
        ("categorical", columns.categorical_columns),
        ("text", columns.text_columns),
    ):
        if chosen is None:
            continue
        missing = [name for name in chosen if name not in names]
        if missing:
            raise ImportRejected(f"{where()}: {part} column(s) {names_listed(missing)} missing.")
        clashing = [name for name in chosen if name in taken]
        if clashing:
            raise ImportRejected(
                f"{where()}: {names_listed(clashing)} cannot be {part} and play another part."
            )
        getattr(roles, part).extend(chosen)
        taken |= set(chosen)
    if columns.categorical_columns is None:
        roles.categorical.extend(named_like(names, CATEGORY_CANDIDATES, taken))
        taken |= set(roles.categorical)
    if columns.text_columns is None:
        roles.text.extend(named_like(names, TEXT_CANDIDATES, taken))
    return roles


def table_read(
    text_path: Path,
    *,
    file_name: str,
    columns: ColumnChoice,
    with_labels: bool,
    category_levels: dict[str, list[str]] | None = None,
    lines: bool = True,
    with_attributes: bool = True,
) -> ParsedTable:
    """Parses checked UTF-8 CSV text into arrays, or raises ImportRejected naming row and
    column. `category_levels`: the dataset's encoding of its categories (None: this file is the
    dataset's first, and sets it). `lines`: False when the rows came as items of a JSON array.
    `with_attributes`: False leaves out the rows' shown columns (rows scored, not stored)."""
    where = Where(file_name, lines=lines)
    names = _header(text_path, where)
    id_column = _pick(names, columns.id_column, ID_CANDIDATES, "id", where, required=False)
    time_column = _pick(names, columns.time_column, TIME_CANDIDATES, "time", where, required=True)
    amount_column = _pick(
        names, columns.amount_column, AMOUNT_CANDIDATES, "amount", where, required=True
    )
    label_column = _pick(
        names, columns.label_column, LABEL_CANDIDATES, "label", where, required=with_labels
    )
    # (A column named like a label is found even when labels are ignored: it is never a
    # feature, nor shown, since it may hold reference labels a person must not see.)
    basic = [c for c in (id_column, time_column, amount_column, label_column) if c is not None]
    if len(set(basic)) != len(basic):
        raise ImportRejected(f"{where()}: one column was given two parts: {basic}.")
    roles = _roles(names, columns, set(basic), where)
    taken = set(basic) | set(roles.named)
    if columns.feature_columns is not None:
        missing = [name for name in columns.feature_columns if name not in names]
        if missing:
            raise ImportRejected(
                f"{where()}: feature column(s) {names_listed(missing)} missing from the file."
            )
        clashing = [name for name in columns.feature_columns if name in taken]
        if clashing:
            raise ImportRejected(
                f"{where()}: {names_listed(clashing)} cannot be both a feature and {sorted(taken)}."
            )
        candidate_features = list(columns.feature_columns)
    else:
        candidate_features = [name for name in names if name not in taken]

    text_columns = [c for c in (id_column, label_column) if c]
    frame = _read_frame(text_path, names, text_columns + roles.named, where)

    leftover = [n for n in names if n not in taken and n not in candidate_features]
    if columns.feature_columns is None:
        texts = [name for name in candidate_features if is_text(frame[name])]
        candidate_features = [name for name in candidate_features if name not in texts]
        text_columns_sorted(frame, texts, roles, named_text=columns.text_columns is not None)
    roles.kept.extend(leftover)
    if category_levels is None:
        category_levels = {c: category_levels_of(frame, c, where) for c in roles.categorical}
    if not candidate_features and not category_levels:
        raise ImportRejected(f"{where()}: no numeric feature columns besides time and amount.")

    features = float32_features(frame, candidate_features, where)
    encoded, encoded_names = category_features(frame, category_levels)
    labels = None
    if with_labels:
        labels = frame[label_column].fillna("").str.strip().to_numpy(dtype=object)
    time, time_kind = time_seconds(frame, time_column, where)
    shown = [c for c in (id_column, time_column, amount_column) if c] + roles.named + roles.kept
    return ParsedTable(
        row_count=len(frame),
        external_ids=external_ids(frame, id_column, where) if id_column else None,
        time=time,
        amount=numeric_matrix(frame, [amount_column], where)[:, 0],
        features=np.hstack([features, encoded]) if encoded_names else features,
        feature_names=candidate_features + encoded_names,
        labels=labels,
        column_mapping={
            "id": id_column,
            "time": time_column,
            "amount": amount_column,
            "label": label_column,
            "features": candidate_features,
            "card": roles.card,
            "merchant": roles.merchant,
            "categorical": roles.categorical,
            "text": roles.text,
            "kept": roles.kept,
        },
        card_keys=entity_keys(frame, roles.card, "card", where) if roles.card else None,
        merchant_keys=entity_keys(frame, roles.merchant, "merchant", where)
        if roles.merchant
        else None,
        attributes=attributes_json(frame, shown)
        if with_attributes and (roles.named or roles.kept)
        else None,
        schema={
            "columns": {"id": id_column, "time": time_column, "amount": amount_column},
            "card": roles.card,
            "merchant": roles.merchant,
            # Pairs, not a mapping: PostgreSQL's jsonb keeps no key order, and the features'
            # order must not change from one file to the next.
            "categorical": [[column, levels] for column, levels in category_levels.items()],
            "text": roles.text,
            "kept": roles.kept,
            "time": time_kind,
        }
        if roles.named or roles.kept or time_kind == "datetime"
        else {},
    )
