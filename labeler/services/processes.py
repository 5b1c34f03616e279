"""Which process runs something, and whether that process still exists: a process id alone can
be reused, so its start time (Linux: /proc/<pid>/stat) goes with it, and its PID namespace
(containers with one host name each see only their own processes)."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def stat_fields(pid: int | str) -> list[str] | None:
    """/proc/<pid>/stat from field 3 on (field N is item N - 3); None when unreadable (gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from its closing one.
    return stat[stat.rindex(")") + 2 :].split()


def _start_time(pid: int) -> str | None:
    fields = stat_fields(pid)
    return None if fields is None else fields[19]  # field 22, starttime in ticks since boot


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


def this_host() -> str:
    return socket.gethostname()[:255]


def this_process() -> str:
    pid = os.getpid()
    return f"{pid}:{_start_time(pid) or ''}:{_pid_namespace()}"


def process_gone(identity: str) -> bool:
    """True only when the process is known to be gone; unknown or unreadable means alive."""
    pid_text, _, rest = identity.partition(":")
    started, _, namespace = rest.partition(":")
    if not pid_text.isdigit() or (namespace and namespace != _pid_namespace()):
        return False  # not a process this one can see
    pid = int(pid_text)
    if started:
        now = _start_time(pid)
        return now is None or now != started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False


def runs_stale(running, *, silent_since, silence: str, restarted_worker: str | None = None):
    """The runs in `running` (rows with worker, heartbeat_at, run_host and run_process: training
    runs, synthesis runs) known dead, each with why: silent since before `silent_since`
    (`silence` says how long that is), held by `restarted_worker` (a worker that came back
    under its name), or on this machine with their process gone. {pk: (run, reason)}."""
    stale = {}
    for run in running.filter(heartbeat_at__lt=silent_since):
        stale[run.pk] = (
            run,
            f"the worker {run.worker or '?'} stopped reporting for over {silence}",
        )
    if restarted_worker:
        for run in running.filter(worker=restarted_worker).exclude(pk__in=list(stale)):
            stale[run.pk] = (run, f"the worker {run.worker or '?'} restarted")
    for run in running.filter(run_host=this_host()).exclude(pk__in=list(stale)):
        if run.run_process and process_gone(run.run_process):
            pid = run.run_process.partition(":")[0]
            stale[run.pk] = (run, f"its process {pid} on {run.run_host} is gone")
    return stale
