"""Training runs as rows: request, claim, progress, failure and recovery, one run at a time.

A run is a `ModelVersion` that moves queued -> training -> active (or failed). The database
holds the single-flight rule (one `training` row at all, one `queued` row per dataset), so two
triggers, two workers or a retried message can never start a second run: a trigger that arrives
while a run is queued collapses into it, and a run requested during training waits, queued,
until the running one ends.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.db import IntegrityError, transaction
from django.db.models import Exists
from django.utils import timezone

from labeler.models import Dataset, ModelVersion, PseudoLabel, StagedScore, TrainingPolicy
from labeler.selectors import new_human_labels
from labeler.services.activation import activation_copies_finish
from labeler.services.processes import runs_stale, this_host, this_process

logger = logging.getLogger(__name__)

TRAINING_TASK = "labeler.tasks.training_run"
TRAINING_QUEUE = "training"


@dataclass
class TrainingRequest:
    version: ModelVersion
    created: bool  # False: the trigger collapsed into a run already queued


def _enqueue(version_id: int):
    # By name: services must not import the tasks module that imports them.
    return current_app.send_task(TRAINING_TASK, args=[version_id], queue=TRAINING_QUEUE)


def training_request(
    *, dataset: Dataset, trigger: str, requested_by=None, enqueue: bool = True
) -> TrainingRequest:
    """Queues a run for the dataset, or returns the one already queued for it."""
    training_stale_runs_fail()
    queued = ModelVersion.objects.filter(dataset=dataset, status=ModelVersion.Status.QUEUED)
    existing = queued.first()
    if existing is not None:
        return TrainingRequest(existing, created=False)
    try:
        with transaction.atomic():
            version = ModelVersion.objects.create(
                dataset=dataset,
                status=ModelVersion.Status.QUEUED,
                trigger=trigger,
                requested_by=requested_by,
                stage="queued",
            )
            if enqueue:
                transaction.on_commit(lambda: _enqueue(version.pk))
    except IntegrityError:  # another trigger queued one between our read and our write
        return TrainingRequest(queued.get(), created=False)
    return TrainingRequest(version, created=True)


def training_due(*, dataset: Dataset, policy: TrainingPolicy | None = None) -> bool:
    """A dataset with no active version needs its first (cold-start) run; after that a run is
    due once `min_new_labels` human labels have arrived."""
    policy = policy or TrainingPolicy.current()
    active = ModelVersion.objects.filter(dataset=dataset, status=ModelVersion.Status.ACTIVE).first()
    if active is None:
        return dataset.transactions.exists()
    needed = max(1, policy.min_new_labels)
    return new_human_labels(dataset=dataset, active=active, up_to=needed) >= needed


def training_request_if_due(*, dataset: Dataset, trigger: str) -> TrainingRequest | None:
    policy = TrainingPolicy.current()
    if trigger == ModelVersion.Trigger.LABELS:
        if not policy.retrain_on_labels:
            return None
        # Labels arriving while a run waits join it: one read instead of the due check on
        # every label (stale runs are found by the schedule and by restarting workers).
        queued = ModelVersion.queued_for(dataset.pk)
        if queued is not None:
            return TrainingRequest(queued, created=False)
    if not training_due(dataset=dataset, policy=policy):
        return None
    return training_request(dataset=dataset, trigger=trigger)


def training_run_claim(*, version_id: int, worker: str) -> ModelVersion | None:
    """Moves a queued run to training if no other run trains; None when it cannot start now
    (another run trains: this one starts when that ends) or must not (not queued any more)."""
    training_stale_runs_fail()
    activation_copies_finish()  # a score copy cut short by a crash ends before a new run
    now = timezone.now()
    running = ModelVersion.objects.filter(status=ModelVersion.Status.TRAINING)
    try:
        with transaction.atomic():
            claimed = (
                ModelVersion.objects.filter(pk=version_id, status=ModelVersion.Status.QUEUED)
                .filter(~Exists(running))
                .update(
                    status=ModelVersion.Status.TRAINING,
                    worker=worker[:200],
                    run_host=this_host(),
                    run_process=this_process(),
                    started_at=now,
                    heartbeat_at=now,
                    stage="starting",
                    progress=0,
                )
            )
    except IntegrityError:  # another worker claimed a run in the same instant
        return None
    return ModelVersion.objects.get(pk=version_id) if claimed else None


class ProgressRecorder:
    """Writes a running version's stage and percent, at most every `interval` seconds unless
    the stage changes; every write is also the run's heartbeat."""

    def __init__(self, version: ModelVersion, *, interval: float = 1.0):
        self.version = version
        self.interval = interval
        self._last_write = 0.0
        self.listeners: list = []

    def __call__(self, stage: str, percent: float) -> None:
        percent = int(max(0, min(100, percent)))
        changed = stage != self.version.stage
        for listener in self.listeners:
            listener(stage, percent)
        if not changed and time.monotonic() - self._last_write < self.interval:
            return
        self.version.stage, self.version.progress = stage, percent
        ModelVersion.objects.filter(pk=self.version.pk, status=ModelVersion.Status.TRAINING).update(
            stage=stage, progress=percent, heartbeat_at=timezone.now()
        )
        self._last_write = time.monotonic()


def _discard_outputs(version_ids) -> None:
    StagedScore.objects.filter(model_version_id__in=version_ids).delete()
    PseudoLabel.objects.filter(model_version_id__in=version_ids, reviews__isnull=True).delete()


def training_run_fail(*, version: ModelVersion, error: str) -> None:
    """Marks a run failed with its error and throws away what it wrote; the active version,
    the queue and the pseudo-labels stay as they were."""
    with transaction.atomic():
        updated = ModelVersion.objects.filter(
            pk=version.pk,
            status__in=[ModelVersion.Status.TRAINING, ModelVersion.Status.QUEUED],
        ).update(status=ModelVersion.Status.FAILED, error=error, finished_at=timezone.now())
        if updated:
            _discard_outputs([version.pk])
    logger.warning("training run v%s failed: %s", version.pk, error)


def training_stale_runs_fail(*, worker: str | None = None) -> list[int]:
    """Fails runs whose worker stopped reporting (killed, or the machine went down): those
    silent longer than the policy allows, when a worker (re)starts those it held, and at once
    those on this machine whose process no longer exists."""
    policy = TrainingPolicy.current()
    silent_since = timezone.now() - timedelta(seconds=policy.stale_after_seconds)
    stale = runs_stale(
        ModelVersion.objects.filter(status=ModelVersion.Status.TRAINING),
        silent_since=silent_since,
        silence=f"{policy.stale_after_seconds} s",
        restarted_worker=worker,
    )
    for version, reason in stale.values():
        training_run_fail(
            version=version, error=f"{reason} during stage '{version.stage}'; nothing was activated"
        )
    if stale:
        training_next_start()
    return list(stale)


def training_next_start() -> ModelVersion | None:
    """After a run ends, hands the oldest queued run to the workers."""
    if ModelVersion.objects.filter(status=ModelVersion.Status.TRAINING).exists():
        return None
    waiting = (
        ModelVersion.objects.filter(status=ModelVersion.Status.QUEUED)
        .order_by("created_at", "id")
        .first()
    )
    if waiting is not None:
        transaction.on_commit(lambda: _enqueue(waiting.pk))
    return waiting


def training_run_current() -> ModelVersion | None:
    """The run a progress bar should show: the one training, else the oldest queued."""
    return (
        ModelVersion.objects.filter(
            status__in=[ModelVersion.Status.TRAINING, ModelVersion.Status.QUEUED]
        )
        .order_by("-status", "created_at")  # 'training' sorts after 'queued': descending first
        .first()
    )


def training_after_labels(dataset_id: int) -> None:
    """Once the open transaction that recorded people's labels commits: a run if the labels
    since the active version are enough (`training_request_if_due`)."""
    transaction.on_commit(
        lambda: training_request_if_due(
            dataset=Dataset(pk=dataset_id), trigger=ModelVersion.Trigger.LABELS
        )
    )
