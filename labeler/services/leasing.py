"""Leases on work items (annotation queue entries, review items): one holder at a time, and an
expired lease frees the item. Rows need `leased_to` and `lease_expires_at`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from labeler.services.sql_names import quoted_column, quoted_table

ATTEMPTS = 20  # another holder may take the candidate between our pick and our write


def lease_seconds() -> int:
    return settings.ANNOTATION_LEASE_SECONDS


def lease_available(now: datetime) -> Q:
    return Q(leased_to__isnull=True) | Q(lease_expires_at__lt=now)


def lease_expiry(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=lease_seconds())


def lease_first(candidates: QuerySet, *, user, now: datetime) -> int | None:
    """The primary key of the first row of `candidates` (ordered) that `user` holds already
    (its lease renewed), else of the first free one, leased to them now; None when there is
    neither.

    One statement picks and leases: `UPDATE ... WHERE pk = COALESCE(first held, first free)
    AND still free or held RETURNING pk`, a single round trip in autocommit. Each pick walks
    the candidates in their order and stops at the first match (no sort of the whole queue).
    On PostgreSQL the free pick is `FOR UPDATE SKIP LOCKED`, so concurrent pickers pass each
    other instead of queueing on one row; on every database the condition of the `UPDATE`
    makes sure two users never both win a row.

    The picks read the work table alone, without joins: given joins, SQLite's planner can walk
    every transaction of the dataset to find the first queued one (150 ms at 285k rows)."""
    candidates = candidates.select_related(None)
    statement, params = _lease_statement(candidates, user=user, now=now)
    return lease_attempts(
        statement,
        params,
        anything_left=lambda: candidates.filter(_held(user, now) | lease_available(now)).exists(),
    )


def lease_attempts(
    statement: str,
    params: list,
    *,
    anything_left: Callable[[], bool],
    waiting_statement: str | None = None,
):
    """Runs a pick-and-lease statement until it leases a row (its primary key) or nothing is
    left to lease (None): another holder may take the pick between its read and its write.

    With `waiting_statement` (the same pick without SKIP LOCKED), every other attempt after a
    miss waits for the rows others have locked instead of passing them: when every free row is
    locked at once (an activation replacing the queue), skipping them would tell the annotator
    the queue is empty; waiting for that short transaction serves them the new queue."""
    for attempt in range(ATTEMPTS):
        waiting = waiting_statement is not None and attempt % 2 == 1
        with connection.cursor() as cursor:
            cursor.execute(waiting_statement if waiting else statement, params)
            leased = cursor.fetchone()
        if leased is not None:
            return leased[0]
        if not anything_left():
            return None
    return None


def _held(user, now: datetime) -> Q:
    return Q(leased_to=user, lease_expires_at__gte=now)


def _lease_statement(candidates: QuerySet, *, user, now: datetime) -> tuple[str, list]:
    model = candidates.model
    table, pk = quoted_table(model), connection.ops.quote_name(model._meta.pk.column)
    holder = quoted_column(model, "leased_to")
    expires = quoted_column(model, "lease_expires_at")
    held, held_params = candidates.filter(_held(user, now)).values("pk")[:1].query.sql_with_params()
    free, free_params = (
        candidates.filter(lease_available(now)).values("pk")[:1].query.sql_with_params()
    )
    if connection.features.has_select_for_update_skip_locked:
        free += " FOR UPDATE SKIP LOCKED"
    moment = connection.ops.adapt_datetimefield_value(now)
    until = connection.ops.adapt_datetimefield_value(lease_expiry(now))
    statement = (
        f"UPDATE {table} SET {holder} = %s, {expires} = %s "
        f"WHERE {pk} = COALESCE(({held}), ({free})) "
        f"AND (({holder} = %s AND {expires} >= %s) OR {holder} IS NULL OR {expires} < %s) "
        f"RETURNING {pk}"
    )
    return statement, [user.pk, until, *held_params, *free_params, user.pk, moment, moment]


def lease_release(rows: QuerySet, *, user) -> int:
    """Gives the user's leases on these rows back at once."""
    return rows.filter(leased_to=user).update(leased_to=None, lease_expires_at=None)
