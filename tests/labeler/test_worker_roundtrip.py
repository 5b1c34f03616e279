"""A real Celery worker process takes a task from each supported broker and answers."""

from __future__ import annotations

import os
import uuid

import pytest
from celery import Celery

from labeler.models import WorkerHeartbeat
from labeler.services.health import health_report
from tests.conftest import require_reachable
from tests.workers import worker_start, worker_stop

pytestmark = pytest.mark.django_db(transaction=True)


def _start_worker(name, broker_url, result_backend, extra_env):
    return worker_start(f"{name}@%h", broker_url, result_backend, extra_env, queues="celery")


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
        worker_stop(worker)
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
