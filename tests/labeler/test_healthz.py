"""/healthz: JSON status of database, broker and worker; 503 when one is down; the detail
of each check for staff only."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from labeler.models import WorkerHeartbeat
from labeler.services import health
from labeler.services.health import worker_heartbeat_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, alice):
    client.force_login(alice)
    return client


def get_health(client):
    response = client.get("/healthz")
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def test_all_up_is_200(staff):
    worker_heartbeat_record(hostname="worker@laptop")
    status, body = get_health(staff)
    assert status == 200
    assert body["ok"] is True
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "worker": True,
    }
    assert "worker@laptop" in body["checks"]["worker"]["detail"]


def test_no_worker_ever_seen_is_503(staff):
    status, body = get_health(staff)
    assert status == 503 and body["ok"] is False
    assert body["checks"]["worker"] == {"ok": False, "detail": "no worker has reported yet"}


def test_stale_heartbeat_is_503(staff, settings):
    settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS = 60
    WorkerHeartbeat.objects.create(
        hostname="worker@old", last_seen=timezone.now() - timedelta(minutes=5)
    )
    status, body = get_health(staff)
    assert status == 503
    assert "limit 60 s" in body["checks"]["worker"]["detail"]


def test_unreachable_broker_is_503(staff, settings):
    worker_heartbeat_record(hostname="worker@laptop")
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    status, body = get_health(staff)
    assert status == 503
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_database_down_is_503(staff, monkeypatch):
    class BrokenConnection:
        vendor = "sqlite"

        def cursor(self):
            raise OperationalError("unable to open database file")

    monkeypatch.setattr(health, "connection", BrokenConnection())
    status, body = get_health(staff)
    assert status == 503
    assert body["checks"]["database"] == {
        "ok": False,
        "detail": "OperationalError: unable to open database file",
    }
    assert body["checks"]["worker"]["detail"] == "database is down"


def test_anonymous_callers_get_the_status_without_detail(client, settings):
    worker_heartbeat_record(hostname="worker@laptop")
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    status, body = get_health(client)
    assert status == 503
    assert body == {
        "ok": False,
        "checks": {"database": {"ok": True}, "broker": {"ok": False}, "worker": {"ok": True}},
    }


def test_heartbeat_updates_one_row_per_worker():
    worker_heartbeat_record(hostname="w1")
    worker_heartbeat_record(hostname="w1")
    worker_heartbeat_record(hostname="w2")
    assert WorkerHeartbeat.objects.count() == 2
