"""Training stages: the progress bar's percent ranges, and the time each stage took."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager

# (stage, first percent, last percent): what the progress bar shows.
STAGES = {
    "reading": (0, 5),
    "autoencoder": (5, 20),
    "weak": (20, 25),
    "sgan": (25, 60),
    "evaluating": (60, 70),
    "saving": (70, 73),
    "scoring": (73, 80),
    "score_write": (80, 85),
    "queueing": (85, 90),
    "pseudo_labels": (90, 95),
    "activating": (95, 100),
}


class StageClock:
    """Times each stage and reports progress within it."""

    def __init__(self, progress: Callable[[str, float], None]):
        self.progress = progress
        self.durations: dict[str, float] = {}

    def report(self, stage: str, done: float = 0.0) -> None:
        first, last = STAGES[stage]
        self.progress(stage, first + (last - first) * done)

    def member_progress(self, member: str, done: float) -> None:
        """Committee training reports by member: each one's time is its own stage."""
        now = time.perf_counter()
        if member != getattr(self, "_member", None):
            self.members_done(now)
            self._member, self._member_started = member, now
        self.report(member, done)

    def members_done(self, now: float | None = None) -> None:
        if getattr(self, "_member", None) is not None:
            now = now or time.perf_counter()
            self.durations[self._member] = round(now - self._member_started, 3)
            self._member = None

    @contextmanager
    def stage(self, name: str):
        self.report(name)
        started = time.perf_counter()
        yield
        self.durations[name] = round(time.perf_counter() - started, 3)
