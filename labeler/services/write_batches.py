"""Background writers write in short batches on SQLite, so an answer waits for one, not all.

SQLite has one write lock for the whole database. The backend queues writers for it
(labeler/sqlite_backend/write_queue.py) and the kernel wakes the first waiter when a batch
commits, but a writer that asks again at once can take the lock back before the woken one runs:
after each batch a background writer pauses for a few milliseconds (it paused 100 ms when
waiters polled for the lock themselves). A batch is kept short there: 5,000 rows, 20-30 ms of
holding the lock. PostgreSQL locks rows: its batches stay large and nobody pauses.
"""

from __future__ import annotations

import time

import numpy as np
from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from labeler.services.bulk_insert import columns_insert

SQLITE_BATCH_ROWS = 5000  # rows a background batch writes on SQLite: 20-30 ms of holding the lock
SQLITE_TURN_S = 0.005  # long enough for a woken waiter to be scheduled and take the lock


def batch_rows(rows: int) -> int:
    """`rows` per batch, or fewer on SQLite, where every answer waits for the batch."""
    return min(rows, SQLITE_BATCH_ROWS) if connection.vendor == "sqlite" else rows


def writers_let_in(using: BaseDatabaseWrapper = connection) -> None:
    """Call between two batch transactions of a background writer on `using`."""
    if using.vendor == "sqlite" and not using.in_atomic_block:
        time.sleep(SQLITE_TURN_S)


def columns_insert_batched(
    model: type[Model], columns: dict[str, object], *, rows: int, batch: int
) -> None:
    """`bulk_insert.columns_insert` in one transaction per `batch` rows (fewer on SQLite): for a
    background writer's staging tables."""
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
