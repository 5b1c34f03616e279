"""Worker start-up hooks: a worker reports itself alive the moment it is ready."""

import logging
import socket

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@worker_ready.connect
def _report_worker_ready(sender=None, **kwargs):
    from labeler.services.health import worker_heartbeat_record

    try:
        worker_heartbeat_record(hostname=getattr(sender, "hostname", None) or socket.gethostname())
    except Exception:  # the worker must start even when the database is briefly unavailable
        logger.exception("could not record the worker heartbeat at start-up")
