"""Signal hooks: a worker reports itself alive the moment it is ready; labels refuse deletion."""

import logging
import socket

from celery.signals import worker_ready
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from labeler.errors import HistoryProtected

logger = logging.getLogger(__name__)


@worker_ready.connect
def _report_worker_ready(sender=None, **kwargs):
    from labeler.services.health import worker_heartbeat_record
    from labeler.services.training_runs import training_stale_runs_fail

    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    try:
        worker_heartbeat_record(hostname=hostname)
        # A run this worker held when it last stopped cannot be running now.
        training_stale_runs_fail(worker=hostname)
    except Exception:  # the worker must start even when the database is briefly unavailable
        logger.exception("could not record the worker heartbeat at start-up")


@receiver(pre_delete, sender="labeler.Label")
def _labels_are_never_deleted(sender, instance, **kwargs):
    """History is kept: an undo supersedes a label, a reviewer overrules it."""
    raise HistoryProtected(
        f"label {instance.pk} cannot be deleted: labels are history. Undo it (superseded) or "
        "overrule it in review instead."
    )
