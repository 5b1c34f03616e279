"""Which column of a transaction file plays which part beyond the numbers: the card and the
merchant a transaction belongs to, categories encoded for the models, text kept for people.

Roles a caller does not name are found from the header (the usual names, case-insensitively)
and from the values: a column where no value reads as a number is a category when it has few
distinct values, else text. Every column but the label and the numeric features is kept as
written, for people to read (`Transaction.attributes`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from labeler.errors import ImportRejected

CARD_CANDIDATES = ("card_id", "customer_id", "account_id", "card", "customer", "account")
MERCHANT_CANDIDATES = ("merchant_id", "terminal_id", "merchant", "terminal")
CATEGORY_CANDIDATES = (
    "mcc",
    "merchant_category",
    "category",
    "country",
    "merchant_country",
    "currency",
    "entry_mode",
    "pos_entry_mode",
    "channel",
)
TEXT_CANDIDATES = ("description", "merchant_name", "narrative", "memo", "note", "details")
# A text column with at most this many distinct values is a category unless named as text.
CATEGORY_FOUND_LIMIT = 50
# A category keeps its most frequent values, each a feature of its own; the rest are "other".
CATEGORY_LEVELS = 30
# More distinct values than this is not a category: an id or free text (the message says so).
CATEGORY_LIMIT = 1_000
OTHER = "other"
EMPTY = "(empty)"
MAX_KEY_LENGTH = 128


@dataclass
class ColumnRoles:
    card: str | None = None
    merchant: str | None = None
    categorical: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # neither: kept as written for people

    @property
    def named(self) -> list[str]:
        return [c for c in (self.card, self.merchant) if c] + self.categorical + self.text


def found(names: list[str], candidates: tuple[str, ...]) -> str | None:
    by_lower = {name.lower(): name for name in names}
    return next((by_lower[c] for c in candidates if c in by_lower), None)


def named_like(names: list[str], candidates: tuple[str, ...], taken: set[str]) -> list[str]:
    """Columns the header names like a category (merchant category code, country, ...) or
    like text (a description), not taken by another part."""
    return [name for name in names if name.lower() in candidates and name not in taken]


def is_text(series: pd.Series) -> bool:
    """A column where no value reads as a number is text (a merchant name, say)."""
    if not (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)):
        return False
    return bool(pd.to_numeric(series, errors="coerce").isna().all())


def text_columns_sorted(
    frame: pd.DataFrame, columns: list[str], roles: ColumnRoles, *, named_text: bool
) -> None:
    """Each column where no value reads as a number becomes a category (few distinct values)
    or text (many), unless the caller named its role already."""
    for column in columns:
        if column in roles.named:
            continue
        if named_text:
            roles.kept.append(column)
        elif frame[column].nunique(dropna=True) <= CATEGORY_FOUND_LIMIT:
            roles.categorical.append(column)
        else:
            roles.text.append(column)


def stripped_texts(series: pd.Series) -> list[str | None]:
    """Each cell as text without the white space around it; None where it is missing. A plain
    loop: as fast as pandas' string methods on a whole file, and far faster on the one row of a
    decision."""
    return [
        value.strip() if isinstance(value, str) else None if pd.isna(value) else str(value).strip()
        for value in series.tolist()
    ]


def entity_keys(frame: pd.DataFrame, column: str, role: str, where) -> np.ndarray:
    """The column's values as keys: every row has one, none longer than the database holds."""
    keys = stripped_texts(frame[column])
    empty = next((row for row, key in enumerate(keys) if not key), None)
    if empty is not None:
        raise ImportRejected(
            f"{where(empty, column)}: the {role} id is empty; every row needs one (or import "
            f"the file without a {role} column: --{role}-column - leaves it out)."
        )
    too_long = next((row for row, key in enumerate(keys) if len(key) > MAX_KEY_LENGTH), None)
    if too_long is not None:
        raise ImportRejected(
            f"{where(too_long, column)}: the {role} id is longer than {MAX_KEY_LENGTH} characters."
        )
    values = np.empty(len(keys), dtype=object)
    values[:] = keys
    return values


def category_values(frame: pd.DataFrame, column: str) -> list[str]:
    """The column's values as a category sees them: trimmed, EMPTY for a missing or blank cell."""
    return [value or EMPTY for value in stripped_texts(frame[column])]


def category_levels(frame: pd.DataFrame, column: str, where) -> list[str]:
    """The values a category keeps (its most frequent, ties by value), from the first file."""
    counts = pd.Series(category_values(frame, column), dtype=object).value_counts()
    if len(counts) > CATEGORY_LIMIT:
        raise ImportRejected(
            f"{where(column=column)}: {len(counts):,} distinct values is too many for a "
            f"category (at most {CATEGORY_LIMIT:,}). If it identifies a card or a merchant, "
            "import it as one (--card-column, --merchant-column); if it is free text, as "
            "--text-columns: it is then shown to people and not encoded for the models."
        )
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [str(value) for value, _ in ordered[:CATEGORY_LEVELS]]


def category_features(
    frame: pd.DataFrame, levels: dict[str, list[str]]
) -> tuple[np.ndarray, list[str]]:
    """One 0/1 feature per kept value of each category, and one for the rest ("other")."""
    blocks, names = [], []
    for column, kept in levels.items():
        values = category_values(frame, column)
        position = {value: index for index, value in enumerate(kept)}
        codes = np.fromiter((position.get(v, len(kept)) for v in values), np.int64, len(values))
        block = np.zeros((len(values), len(kept) + 1), np.float32)
        block[np.arange(len(values)), codes] = 1.0
        blocks.append(block)
        names += [f"{column}={value}" for value in kept] + [f"{column}={OTHER}"]
    if not blocks:
        return np.zeros((len(frame), 0), np.float32), []
    return np.hstack(blocks), names


def attributes_json(frame: pd.DataFrame, columns: list[str]) -> list[str] | None:
    """Each row's kept columns as written, one JSON object per row (null for empty cells)."""
    if not columns:
        return None
    lines = frame[columns].astype("string").to_json(orient="records", lines=True)
    return lines.rstrip("\n").split("\n")
