"""Rows read on every request and edited about never (the policies, the label classes, the
dataset's queued and active model versions, a user's permissions), kept in this process for a
few seconds. A change made in another process is seen within `CACHE_SECONDS`; the process that
made it forgets at once."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

from django.db import models

CACHE_SECONDS = 10.0

_held: dict[tuple[type, Hashable], tuple[Any, float, Hashable]] = {}


def remembered(
    owner: type,
    load: Callable[[], Any],
    *,
    key: Hashable = None,
    seconds: float | None = None,
    version: Hashable = None,
) -> Any:
    """What `load()` returned for (`owner`, `key`) less than `seconds` (CACHE_SECONDS unless
    given) ago and for the same `version` (a stamp of what it was loaded from), else a fresh
    `load()`, held in its place."""
    held = _held.get((owner, key))
    now = time.monotonic()
    fresh = CACHE_SECONDS if seconds is None else seconds
    if held is not None and now - held[1] < fresh and held[2] == version:
        return held[0]
    value = load()
    _held[(owner, key)] = (value, now, version)
    return value


def forget(owner: type | None = None) -> None:
    """Drops what is held for `owner` (every key), or everything (tests start from their own
    database)."""
    if owner is None:
        _held.clear()
        return
    for held in [held for held in _held if held[0] is owner]:
        _held.pop(held, None)


class ForgetOnWrite(models.Model):
    """A model whose rows this process may remember: saving or deleting one here forgets what
    is held for its class at once."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        try:
            super().save(*args, **kwargs)
        finally:
            forget(type(self))

    def delete(self, *args, **kwargs):
        try:
            return super().delete(*args, **kwargs)
        finally:
            forget(type(self))
