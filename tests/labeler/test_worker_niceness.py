"""Worker pool processes yield the CPU to the web server (WORKER_NICENESS)."""

from __future__ import annotations

import multiprocessing
import os

from labeler.signals import _yield_to_the_web, worker_niceness_apply


def _report(apply, queue) -> None:
    queue.put((apply(), os.nice(0)))


def _in_child(apply) -> tuple[int, int]:
    """Niceness cannot be lowered again: try it in a child process."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_report, args=(apply, queue))
    child.start()
    child.join(timeout=30)
    return queue.get(timeout=5)


def test_a_pool_process_runs_at_the_configured_niceness(settings):
    settings.WORKER_NICENESS = os.nice(0) + 7
    returned, actual = _in_child(lambda: _yield_to_the_web() or os.nice(0))
    assert returned == actual == settings.WORKER_NICENESS


def test_a_process_already_nicer_stays_as_it_is():
    current = os.nice(0)
    returned, actual = _in_child(lambda: worker_niceness_apply(current - 1))
    assert returned == actual == current
