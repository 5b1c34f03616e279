"""Activation: the one transaction in which a finished run replaces what annotators see.

Until this commits, annotators see the previous version's scores, queue and pseudo-labels, and
a run killed at any point before it leaves them exactly so; after it, they see only the new
version's.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from labeler.errors import FraudloopError
from labeler.models import ModelVersion, PseudoLabel, StagedScore, Transaction
from labeler.services.queueing import QueuePlan, queue_replace
from labeler.services.review_rules import review_spot_checks_open


class ActivationRefused(FraudloopError):
    """The run lost its claim while it trained (declared stale and failed): it must not win."""


def _staged_scores_apply(version: ModelVersion) -> int:
    quote = connection.ops.quote_name
    target = quote(Transaction._meta.db_table)
    staged = quote(StagedScore._meta.db_table)
    with connection.cursor() as cursor:
        # UPDATE ... FROM: PostgreSQL, and SQLite since 3.33.
        cursor.execute(
            f"UPDATE {target} SET score = s.score, uncertainty = s.uncertainty, "
            f"suggested_class_id = s.suggested_class_id, scored_by_id = s.model_version_id, "
            f"audit_inclusion = s.audit_inclusion "
            f"FROM {staged} AS s WHERE s.model_version_id = %s AND {target}.id = s.transaction_id",
            [version.pk],
        )
        return cursor.rowcount


def model_version_activate(*, version: ModelVersion, queue: QueuePlan) -> dict[str, int]:
    """Scores, queue, pseudo-labels (with their spot checks) and the active flag, all or
    nothing."""
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != ModelVersion.Status.TRAINING or locked.worker != version.worker:
            raise ActivationRefused(
                f"v{version.pk} is {locked.status} now ({locked.error or 'claimed elsewhere'})"
            )
        dataset = version.dataset
        scored = _staged_scores_apply(version)
        queue_counts = queue_replace(dataset=dataset, version=version, plan=queue)
        # Items a human labeled while this run trained get no pseudo-label.
        PseudoLabel.objects.filter(
            model_version=version, transaction__labels__status="active"
        ).delete()
        previous = ModelVersion.objects.filter(dataset=dataset, status=ModelVersion.Status.ACTIVE)
        previous_ids = list(previous.values_list("pk", flat=True))
        previous.update(status=ModelVersion.Status.READY)
        # Pseudo-labels a reviewer looked at stay as the record of that version's precision.
        PseudoLabel.objects.filter(model_version_id__in=previous_ids, reviews__isnull=True).delete()
        spot_checks = review_spot_checks_open(version=version)
        StagedScore.objects.filter(model_version=version).delete()
        now = timezone.now()
        ModelVersion.objects.filter(pk=version.pk).update(
            status=ModelVersion.Status.ACTIVE,
            stage="active",
            progress=100,
            activated_at=now,
            finished_at=now,
            heartbeat_at=now,
        )
    version.refresh_from_db()
    return {"scored": scored, **queue_counts, "spot_checks": spot_checks}
