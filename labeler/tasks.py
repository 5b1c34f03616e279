"""Celery tasks: thin wrappers that take ids, call one service and return its outcome."""

import socket

from celery import shared_task

from labeler.services.health import worker_heartbeat_record


@shared_task(bind=True, name="labeler.tasks.worker_heartbeat", ignore_result=True)
def worker_heartbeat(self) -> None:
    worker_heartbeat_record(hostname=self.request.hostname or socket.gethostname())


@shared_task(name="labeler.tasks.ping")
def ping(value: str) -> dict:
    """Round trip check: proves a worker took a message and the result came back."""
    return {"echo": value, "hostname": socket.gethostname()}
