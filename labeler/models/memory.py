"""Rows read on every request and edited about never (the policies, the label classes), kept in
this process for a few seconds. A change made in another process is seen within
`CACHE_SECONDS`; the process that saved it forgets at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

CACHE_SECONDS = 10.0

_held: dict[type, tuple[Any, float]] = {}


def remembered(owner: type, load: Callable[[], Any]) -> Any:
    """What `load()` returned for `owner` less than CACHE_SECONDS ago, else a fresh `load()`."""
    held = _held.get(owner)
    now = time.monotonic()
    if held is not None and now - held[1] < CACHE_SECONDS:
        return held[0]
    value = load()
    _held[owner] = (value, now)
    return value


def forget(owner: type | None = None) -> None:
    """Drops what is held for `owner`, or everything (tests start from their own database)."""
    if owner is None:
        _held.clear()
    else:
        _held.pop(owner, None)
