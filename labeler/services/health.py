"""Liveness: worker heartbeats and the checks behind /healthz."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection

from labeler.models import WorkerHeartbeat


@dataclass
class Check:
    ok: bool
    detail: str


def worker_heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"last_seen": timezone.now()}
    )
    return heartbeat


def _database_check() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any driver error means the database is down for us
        return Check(False, f"{type(error).__name__}: {error}")
    return Check(True, connection.vendor)


def _broker_check(broker_url: str, timeout: float) -> Check:
    transport_options = (
        getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        if broker_url.startswith("filesystem://")
        else {}
    )
    try:
        with Connection(
            broker_url, connect_timeout=timeout, transport_options=transport_options
        ) as broker:
            broker.ensure_connection(max_retries=1, timeout=timeout)
            transport = broker.transport_cls
    except Exception as error:  # kombu raises many kinds: any of them means unreachable
        return Check(False, f"{type(error).__name__}: {error}")
    return Check(True, str(transport))


def _worker_check() -> Check:
    try:
        latest = WorkerHeartbeat.objects.order_by("-last_seen").first()
    except Exception as error:  # the database answers but not this table (not migrated, say)
        return Check(False, f"cannot read worker heartbeats ({type(error).__name__}: {error})")
    if latest is None:
        return Check(False, "no worker has reported yet")
    age = timezone.now() - latest.last_seen
    limit = timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS)
    detail = f"{latest.hostname} last seen {age.total_seconds():.0f} s ago"
    return Check(age <= limit, detail if age <= limit else f"{detail} (limit {limit.seconds} s)")


def health_report(*, broker_timeout: float = 2.0) -> dict:
    """{'ok': bool, 'checks': {name: {'ok', 'detail'}}}; the worker check needs the database."""
    database = _database_check()
    checks = {
        "database": database,
        "broker": _broker_check(settings.CELERY_BROKER_URL, broker_timeout),
        "worker": _worker_check() if database.ok else Check(False, "database is down"),
    }
    return {
        "ok": all(check.ok for check in checks.values()),
        "checks": {name: asdict(check) for name, check in checks.items()},
    }
