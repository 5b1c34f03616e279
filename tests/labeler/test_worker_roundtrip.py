"""A real Celery worker process takes a task from each supported broker and answers."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from labeler.models import WorkerHeartbeat
from labeler.services.health import health_report
from tests.conftest import require_reachable

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT_ROOT = Path(settings.BASE_DIR)


def _database_url() -> str:
    """The database this test runs on, so the worker writes where the test reads."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(
    name: str, broker_url: str, result_backend: str, extra_env: dict
) -> subprocess.Popen:
    env = {
        **os.environ,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": result_backend,
        "DATABASE_URL": _database_url(),
        **extra_env,
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
        f"--hostname={name}@%h",
    ]
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env)


def _client(broker_url: str, result_backend: str, transport_options: dict) -> Celery:
    app = Celery(
        "roundtrip-client", broker=broker_url, backend=result_backend, set_as_current=False
    )
    app.conf.broker_transport_options = transport_options
    return app


def _round_trip(name, broker_url, result_backend, *, transport_options=None, extra_env=None):
    worker = _start_worker(name, broker_url, result_backend, extra_env or {})
    client = _client(broker_url, result_backend, transport_options or {})
    try:
        token = uuid.uuid4().hex
        result = client.send_task("labeler.tasks.ping", args=[token])
        # get() blocks on the backend until the worker answers; the timeout only guards a hang.
        answer = result.get(timeout=90)
        assert answer["echo"] == token
        assert WorkerHeartbeat.objects.filter(hostname__startswith=f"{name}@").exists()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        client.close()


def test_embedded_filesystem_broker_round_trip(tmp_path, settings):
    broker_dir = tmp_path / "broker"
    folders = {
        "data_folder_in": str(broker_dir / "messages"),
        "data_folder_out": str(broker_dir / "messages"),
        "control_folder": str(broker_dir / "control"),
    }
    for folder in {*folders.values(), str(tmp_path / "results")}:
        os.makedirs(folder, exist_ok=True)
    _round_trip(
        "filesystem",
        "filesystem://",
        f"file://{tmp_path / 'results'}",
        transport_options=folders,
        extra_env={"CELERY_BROKER_DIR": str(broker_dir)},
    )
    # The worker's start-up heartbeat is what /healthz reads.
    assert health_report()["checks"]["worker"]["ok"] is True


@pytest.mark.services
def test_redis_broker_round_trip():
    require_reachable("Redis", "127.0.0.1", 6379)
    _round_trip("redis", "redis://127.0.0.1:6379/14", "redis://127.0.0.1:6379/14")


@pytest.mark.services
def test_rabbitmq_broker_round_trip():
    require_reachable("RabbitMQ", "127.0.0.1", 5672)
    _round_trip("rabbitmq", "amqp://guest:guest@127.0.0.1:5672//", "rpc://")
