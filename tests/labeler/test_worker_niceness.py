"""Worker pool processes yield the CPU to the web server (WORKER_NICENESS)."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys

from labeler.services.niceness import AUTOGROUP_SWITCH, worker_niceness_apply
from labeler.signals import _yield_to_the_web


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


MARKER = "fraudloop-niceness-test"

# Run in a session of its own: optionally starts a foreign process beside it, then applies.
_SESSION_SCRIPT = """
import json, subprocess, sys
from labeler.services.niceness import autogroup_niceness, autogroup_niceness_apply
foreign = subprocess.Popen(["sleep", "30"]) if sys.argv[1] == "foreign" else None
try:
    before = autogroup_niceness()
    after = autogroup_niceness_apply(10, marker=sys.argv[2])
    print(json.dumps({"before": before, "returned": after, "now": autogroup_niceness()}))
finally:
    if foreign:
        foreign.kill()
"""


def _in_new_session(company: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _SESSION_SCRIPT, company, MARKER],
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
        check=True,
    )
    return json.loads(done.stdout)


def _autogroups_on() -> bool:
    try:
        return AUTOGROUP_SWITCH.read_text().strip() == "1"
    except OSError:
        return False


def test_a_session_of_workers_alone_gets_a_nicer_scheduling_group():
    """With autogroups a session's niceness is what counts against the web server's session."""
    outcome = _in_new_session("alone")
    if _autogroups_on():
        assert outcome == {"before": 0, "returned": 10, "now": 10}
    else:
        assert outcome["returned"] is None


def test_a_session_shared_with_another_program_keeps_its_scheduling_group():
    """A worker started in the same session as a web server never slows the web server."""
    outcome = _in_new_session("foreign")
    assert outcome["returned"] is None
    assert outcome["now"] == outcome["before"]


def test_the_test_session_is_left_alone(settings):
    """pytest's session holds no worker: the hook nices the process, not the session."""
    from labeler.services.niceness import autogroup_niceness

    before = autogroup_niceness()
    settings.WORKER_NICENESS = os.nice(0) + 3
    _in_child(lambda: _yield_to_the_web() or os.nice(0))
    assert autogroup_niceness() == before
