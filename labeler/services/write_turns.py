"""Background writers take turns with annotators on SQLite.

SQLite has one write lock for the whole database, and a writer that finds it taken does not
queue for it: its busy handler sleeps and tries again, in steps growing to 100 ms. A retrain that
writes in batches back to back (staged scores, the score copy after an activation) takes the lock
again the moment it commits, so an answer can wait through every batch (1.5 s in the load
benchmark). After each batch a background writer therefore leaves the lock free for one such
step, so every waiting answer gets its turn. PostgreSQL locks rows: nothing to wait for there.
"""

from __future__ import annotations

import time

import numpy as np
from django.db import connection, transaction
from django.db.models import Model

from labeler.services.bulk_insert import columns_insert

SQLITE_TURN_S = 0.1  # the longest sleep of SQLite's busy handler between two tries
SQLITE_BATCH_ROWS = 5000  # rows a background batch writes on SQLite: 20-30 ms of holding the lock


def batch_rows(rows: int) -> int:
    """`rows` per batch, or fewer on SQLite, where every answer waits for the batch."""
    return min(rows, SQLITE_BATCH_ROWS) if connection.vendor == "sqlite" else rows


def writers_let_in() -> float:
    """Call between two batch transactions of a background writer; returns the time given."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return 0.0
    time.sleep(SQLITE_TURN_S)
    return SQLITE_TURN_S


def columns_insert_in_turns(
    model: type[Model], columns: dict[str, object], *, rows: int, batch: int
) -> None:
    """`bulk_insert.columns_insert` in transactions of `batch` rows (fewer on SQLite), with a
    turn for waiting answers after each: for a background writer's staging tables."""
    chunk = batch_rows(batch)
    for start in range(0, rows, chunk):
        part = slice(start, min(rows, start + chunk))
        with transaction.atomic():
            columns_insert(
                model,
                {
                    name: value[part] if isinstance(value, np.ndarray | list) else value
                    for name, value in columns.items()
                },
                rows=part.stop - part.start,
            )
        writers_let_in()
