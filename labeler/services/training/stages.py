"""Training stages: the progress bar's percent ranges, and the time each stage took."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager

# (stage, first percent, last percent): what the progress bar shows.
STAGES = {
    "reading": (0, 5),
    "anomaly": (5, 20),
    "weak": (20, 25),
    "sgan": (25, 57),
    "trees": (57, 60),
    "evaluating": (60, 70),
    "saving": (70, 73),
    "scoring": (73, 78),
    "audit": (78, 80),
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

    @contextmanager
    def stage(self, name: str):
        self.report(name)
        started = time.perf_counter()
        yield
        self.durations[name] = round(time.perf_counter() - started, 3)
