"""The annotation queue's pick-and-lease, as one statement written once per process.

The rule is `leasing.lease_first`'s (the item the annotator holds, its lease renewed, else the
first free one by priority, leased now; never an item they answered already), for the queue
that every answer reads: the ORM compiled the same two subqueries on every answer, a third of the
time an answer took. Here the SQL is built once per shape (how many items to leave out) and
only the values change.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from django.db import connection

from labeler.models import Label, QueueEntry
from labeler.services.leasing import lease_attempts, lease_expiry
from labeler.services.sql_names import quoted_column, quoted_table


def queue_lease_next(*, user, exclude: tuple[int, ...], now: datetime) -> int | None:
    """The id of the queue entry now leased to `user`, or None when the queue has nothing for
    them (everything left is leased to others or answered by them)."""
    statement, waiting, remaining = _statements(connection.vendor, len(exclude))
    moment = connection.ops.adapt_datetimefield_value(now)
    until = connection.ops.adapt_datetimefield_value(lease_expiry(now))
    mine = [*exclude, user.pk, Label.Status.ACTIVE.value]
    held = [*mine, user.pk, moment]
    free = [*mine, moment]
    params = [user.pk, until, *held, *free, user.pk, moment, moment]

    def anything_left() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(remaining, [*mine, user.pk, moment, moment])
            return cursor.fetchone() is not None

    return lease_attempts(statement, params, anything_left=anything_left, waiting_statement=waiting)


@lru_cache(maxsize=64)
def _statements(vendor: str, excluded: int) -> tuple[str, str | None, str]:
    """(pick-and-lease, the same waiting for locked rows instead of skipping them or None,
    is anything left)."""
    entry, column = QueueEntry, quoted_column
    table = quoted_table(entry)
    pk, row = column(entry, "id"), column(entry, "transaction")
    holder, expires = column(entry, "leased_to"), column(entry, "lease_expires_at")
    priority = column(entry, "priority")
    keep = f"q.{row} NOT IN ({', '.join(['%s'] * excluded)}) AND " if excluded else ""
    candidates = (
        f"FROM {table} q WHERE {keep}NOT EXISTS (SELECT 1 FROM {quoted_table(Label)} l "
        f"WHERE l.{column(Label, 'transaction')} = q.{row} "
        f"AND l.{column(Label, 'annotator')} = %s AND l.{column(Label, 'status')} = %s)"
    )
    order = f"ORDER BY q.{priority} DESC, q.{pk} ASC LIMIT 1"
    held = f"SELECT q.{pk} {candidates} AND q.{holder} = %s AND q.{expires} >= %s {order}"
    free = f"SELECT q.{pk} {candidates} AND (q.{holder} IS NULL OR q.{expires} < %s) {order}"

    def pick(lock: str) -> str:
        return (
            f"UPDATE {table} SET {holder} = %s, {expires} = %s "
            f"WHERE {pk} = COALESCE(({held}), ({free}{lock})) "
            f"AND (({holder} = %s AND {expires} >= %s) OR {holder} IS NULL OR {expires} < %s) "
            f"RETURNING {pk}"
        )

    skipping = connection.features.has_select_for_update_skip_locked
    remaining = (
        f"SELECT 1 {candidates} AND ((q.{holder} = %s AND q.{expires} >= %s) "
        f"OR q.{holder} IS NULL OR q.{expires} < %s) LIMIT 1"
    )
    if not skipping:  # SQLite: one writer at a time, nothing to skip
        return pick(""), None, remaining
    return pick(" FOR UPDATE SKIP LOCKED"), pick(" FOR UPDATE"), remaining
