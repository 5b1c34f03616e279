"""Real Celery worker processes for tests: started against the test database, stopped or killed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

PROJECT_ROOT = Path(settings.BASE_DIR)


def database_url() -> str:
    """The database this test runs on, so the worker writes where the test reads."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_start(
    name: str,
    broker_url: str,
    result_backend: str,
    extra_env: dict | None = None,
    *,
    queues: str = "celery,training",
) -> subprocess.Popen:
    """A solo-pool worker (tasks run in the process itself, so one SIGKILL stops everything),
    in its own session so that it can be killed as a whole."""
    env = {
        **os.environ,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": result_backend,
        "DATABASE_URL": database_url(),
        **(extra_env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "labeler",
        "worker",
        "--pool=solo",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=WARNING",
        f"--hostname={name}",
        f"--queues={queues}",
    ]
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, start_new_session=True)


def worker_stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=30)


def wait_until(condition, *, timeout: float, what: str):
    """Polls `condition` until it returns something truthy; fails naming what never happened.
    The timeout only guards a hang: a passing test returns as soon as the condition holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)
