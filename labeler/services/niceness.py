"""How a worker yields the CPU to the web server (WORKER_NICENESS).

A process's niceness orders it only against the processes of its own scheduling group. Linux
with autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled, on in most distributions)
puts each session (a terminal, each process honcho or a benchmark starts, each systemd service)
in a group of its own and shares the CPU fairly between groups first: a trainer at niceness 10
in a session of its own still takes half of a busy machine from the web server. So a worker
raises its session's group niceness too, when the session holds nothing but workers.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

from labeler.services.processes import stat_fields

AUTOGROUP_SWITCH = Path("/proc/sys/kernel/sched_autogroup_enabled")
AUTOGROUP_RETRIES = 3  # the kernel accepts one change per second, machine-wide


def worker_niceness_apply(niceness: int) -> int:
    """Raises this process's niceness to `niceness` (never lowers it: that needs privileges)
    and returns the niceness it runs at."""
    current = os.nice(0)
    return os.nice(niceness - current) if niceness > current else current


def _session_commands(session: int) -> list[str] | None:
    """The command lines of every process in `session`; None when /proc cannot tell."""
    commands = []
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return None
    for entry in entries:
        fields = stat_fields(entry)
        if fields is None or int(fields[3]) != session:  # field 6, the session
            continue  # gone meanwhile, or another session's
        try:
            commands.append(Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" "))
        except OSError:
            continue  # gone meanwhile
    return [command.decode(errors="replace") for command in commands]


def autogroup_niceness(path: Path = Path("/proc/self/autogroup")) -> int | None:
    """This session's group niceness ("/autogroup-42 nice 10"); None without autogroups."""
    try:
        return int(path.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


def autogroup_niceness_apply(
    niceness: int, *, marker: str, path: Path = Path("/proc/self/autogroup")
) -> int | None:
    """Raises this session's autogroup niceness to `niceness` when autogroups are on and every
    process of the session has `marker` in its command line (a worker sharing a terminal or a
    container's session with the web server must not slow it down); never lowers it. Returns the
    group's niceness after, or None when it does not apply (no autogroups, a foreign process in
    the session, or the kernel refused)."""
    try:
        if AUTOGROUP_SWITCH.read_text().strip() != "1":
            return None
    except OSError:
        return None
    current = autogroup_niceness(path)
    if current is None:
        return None
    if current >= niceness:
        return current
    commands = _session_commands(os.getsid(0))
    if not commands or any(marker not in command for command in commands):
        return None
    for _ in range(AUTOGROUP_RETRIES):
        try:
            path.write_text(str(niceness))
            return autogroup_niceness(path)
        except OSError as error:
            if error.errno != errno.EAGAIN:
                return None
        # Another process changed a group within the last second (a sibling pool process
        # setting this same group, likely): see whether it is done, else try again.
        time.sleep(1.05)
        current = autogroup_niceness(path)
        if current is not None and current >= niceness:
            return current
    return None
