"""What an import is asked to do, checked before any file is read: which column plays which
part, the dataset's name, the limits a file must stay within. Light: no pandas, no numpy."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

from labeler.errors import ImportRejected

DATASET_NAME = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")
LISTED_NAMES = 20  # a message lists at most this many column names, then says how many more


@dataclass(frozen=True)
class ColumnChoice:
    """Which column plays which part; None means: recognise it by its usual names."""

    id_column: str | None = None
    time_column: str | None = None
    amount_column: str | None = None
    label_column: str | None = None
    feature_columns: tuple[str, ...] | None = None
    # The card (or customer, account) and the merchant (or terminal) a row belongs to; "":
    # the file has none (even if a column has the usual name).
    card_column: str | None = None
    merchant_column: str | None = None
    categorical_columns: tuple[str, ...] | None = None  # encoded for models, shown as text
    text_columns: tuple[str, ...] | None = None  # shown to people only


@dataclass(frozen=True)
class ImportLimits:
    """Caps checked while the file streams in, so that a file that would exhaust memory (a
    gzip bomb: a few MB that unpack to GBs) is refused early and in bounded memory."""

    max_text_bytes: int
    max_rows: int

    @classmethod
    def from_settings(cls) -> ImportLimits:
        return cls(max_text_bytes=settings.IMPORT_MAX_TEXT_BYTES, max_rows=settings.IMPORT_MAX_ROWS)


def dataset_name_check(name: str) -> str:
    """The rule the import page, the API and the command share."""
    if not isinstance(name, str) or not DATASET_NAME.match(name):
        raise ImportRejected(
            f"dataset name {str(name)[:80]!r} is not allowed: use 1 to 64 letters, digits, "
            "'-' and '_'."
        )
    return name


def names_listed(names: list[str], limit: int = LISTED_NAMES) -> str:
    """'a', 'b', … and N more: a file with thousands of columns gets a message one can read."""
    shown = ", ".join(map(repr, names[:limit]))
    if len(names) > limit:
        shown += f" and {len(names) - limit:,} more"
    return shown
