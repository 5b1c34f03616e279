"""Signal hooks: a worker reports itself alive the moment it is ready and yields the CPU to
the web server; labels refuse deletion."""

import logging
import os
import socket

from celery.signals import worker_init, worker_process_init, worker_ready
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from labeler.errors import HistoryProtected

logger = logging.getLogger(__name__)


@worker_init.connect
def _training_pool_check(sender=None, **kwargs):
    """A worker that would train on CUDA in a pool that forks stops here, saying how to start it
    (labeler/services/worker_pool.py)."""
    from django.conf import settings

    from labeler.services.worker_pool import gpu_present, pool_name, training_pool_refusal

    refusal = training_pool_refusal(
        queues=sender.app.amqp.queues.consume_from,
        pool=pool_name(sender.pool_cls),
        device=settings.TRAINING_DEVICE,
        gpu=gpu_present(),
    )
    if refusal:
        raise SystemExit(f"fraudloop: {refusal}")


@worker_ready.connect
def _report_worker_ready(sender=None, **kwargs):
    from labeler.services.activation import activation_copies_finish
    from labeler.services.health import worker_heartbeat_record
    from labeler.services.training_runs import training_stale_runs_fail

    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    try:
        worker_heartbeat_record(hostname=hostname)
        # A run this worker held when it last stopped cannot be running now.
        training_stale_runs_fail(worker=hostname)
        activation_copies_finish()  # a score copy this worker was making when it stopped
    except Exception:  # the worker must start even when the database is briefly unavailable
        logger.exception("could not record the worker heartbeat at start-up")


@worker_process_init.connect
def _yield_to_the_web(**kwargs):
    """Each pool process (and the threads torch starts in it later) runs at WORKER_NICENESS,
    and so does its session's scheduling group where it holds nothing but workers
    (labeler/services/niceness.py)."""
    from django.conf import settings

    from labeler.services.niceness import autogroup_niceness_apply, worker_niceness_apply

    worker_niceness_apply(settings.WORKER_NICENESS)
    group = autogroup_niceness_apply(settings.WORKER_NICENESS, marker="celery")
    logger.info("worker process at niceness %s, its session's group at %s", os.nice(0), group)


@receiver(pre_delete, sender="labeler.Label")
def _labels_are_never_deleted(sender, instance, **kwargs):
    """History is kept: an undo supersedes a label, a reviewer overrules it."""
    raise HistoryProtected(
        f"label {instance.pk} cannot be deleted: labels are history. Undo it (superseded) or "
        "overrule it in review instead."
    )


def _connect_permission_changes() -> None:
    """Whatever changes who holds which permission makes this process forget the permissions
    it remembers (`labeler.auth_backend`)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission

    from labeler.auth_backend import permissions_forget

    user_model = get_user_model()
    for through in (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(permissions_forget, sender=through, dispatch_uid=f"perms-{through}")
        post_delete.connect(permissions_forget, sender=through, dispatch_uid=f"perms-d-{through}")
        post_save.connect(permissions_forget, sender=through, dispatch_uid=f"perms-s-{through}")
    for model in (Group, Permission):
        post_delete.connect(permissions_forget, sender=model, dispatch_uid=f"perms-d-{model}")


_connect_permission_changes()
