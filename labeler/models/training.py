"""What training produces and how it runs: model versions and the training policy."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from labeler.models import memory
from labeler.models.singleton import SingletonPolicy


class ModelVersionQuerySet(models.QuerySet):
    """Writes through a queryset make this process forget the versions it remembers."""

    def update(self, **kwargs):
        try:
            return super().update(**kwargs)
        finally:
            memory.forget(ModelVersion)

    def delete(self):
        try:
            return super().delete()
        finally:
            memory.forget(ModelVersion)


class ModelVersion(memory.ForgetOnWrite):
    """One trained model with everything needed to judge and reproduce it."""

    class Kind(models.TextChoices):
        WEAK = "weak", "weak classifier"
        SGAN = "sgan", "semi-supervised GAN"
        AUTOENCODER = "autoencoder", "autoencoder"

    class Status(models.TextChoices):
        QUEUED = "queued"
        TRAINING = "training"
        READY = "ready"
        ACTIVE = "active"
        FAILED = "failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "beat schedule"
        LABELS = "labels", "enough new labels"
        COMMAND = "command", "manage.py retrain"
        BUTTON = "button", "staff button"
        API = "api", "API"
        FOLLOW_UP = "follow_up", "follow-up"

    # The strongest model that scores with this version: the autoencoder alone at cold start,
    # the weak classifier alone, or the weak classifier and the SGAN as a committee.
    kind = models.CharField(max_length=16, choices=Kind.choices, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.COMMAND)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stage = models.CharField(max_length=32, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent of the run done")
    worker = models.CharField(max_length=200, blank=True, help_text="the worker running it")
    run_host = models.CharField(
        max_length=255, blank=True, help_text="the machine the run's process runs on"
    )
    run_process = models.CharField(
        max_length=64,
        blank=True,
        help_text="that process as 'pid:start time': a run whose process is gone is failed at "
        "once by the next run on the same machine",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    dataset = models.ForeignKey(
        "labeler.Dataset", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    hyperparameters = models.JSONField(default=dict, blank=True)
    training_counts = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    durations = models.JSONField(default=dict, blank=True, help_text="seconds per stage")
    artifact_path = models.CharField(max_length=500, blank=True)
    device = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset"],
                condition=Q(status="active"),
                name="modelversion_one_active_per_dataset",
            ),
            # Single flight: one run trains at a time, and triggers that arrive meanwhile
            # collapse into one queued follow-up per dataset.
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="training"),
                name="modelversion_one_training",
            ),
            models.UniqueConstraint(
                fields=["dataset"],
                condition=Q(status="queued"),
                name="modelversion_one_queued_per_dataset",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="modelversion_progress_percent"
            ),
        ]

    def __str__(self):
        kind = self.get_kind_display() or "model"
        return f"{kind} v{self.pk} ({self.status})"

    @classmethod
    def remembered(cls, pk: int) -> ModelVersion:
        """The version from memory for `memory.CACHE_SECONDS`: every item shown draws its chart
        from the profiles of the version that scored it."""
        return memory.remembered(cls, lambda: cls.objects.get(pk=pk), key=("pk", pk))

    @classmethod
    def queued_for(cls, dataset_id: int) -> ModelVersion | None:
        """The dataset's queued run, from memory for `memory.CACHE_SECONDS`: every label asks
        whether a run waits already. A run another process claims meanwhile reads as queued
        until then, which only delays the next follow-up request by as long."""
        return memory.remembered(
            cls,
            lambda: cls.objects.filter(dataset_id=dataset_id, status=cls.Status.QUEUED).first(),
            key=("queued", dataset_id),
        )

    @classmethod
    def active_for(cls, dataset_id: int) -> ModelVersion | None:
        """The dataset's active version, from memory for `memory.CACHE_SECONDS` (the annotator
        page counts the labels until the next run from its watermark on every label)."""
        return memory.remembered(
            cls,
            lambda: cls.objects.filter(dataset_id=dataset_id, status=cls.Status.ACTIVE).first(),
            key=("active", dataset_id),
        )


class TrainingPolicy(SingletonPolicy):
    """When to retrain and how much to queue: one row, edited in the admin."""

    min_new_labels = models.PositiveIntegerField(
        default=50,
        help_text="human labels since the active version before the schedule or the labels "
        "trigger starts a run",
    )
    retrain_on_labels = models.BooleanField(
        default=True, help_text="start a run as soon as enough new labels arrive"
    )
    queue_size = models.PositiveIntegerField(default=200, help_text="items queued per version")
    audit_share = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="share of the queue (so of the labels) given to audit picks: drawn at random "
        "from the audit frame, never trained on, and the only labels the quality figures use",
    )
    window_days = models.PositiveIntegerField(
        default=0,
        help_text="days of transactions a run learns from, before the newest (0: all): training "
        "cost stays flat as the dataset grows; every transaction people labeled is kept",
    )
    stale_after_seconds = models.PositiveIntegerField(
        default=600,
        help_text="a run whose worker has not reported for this long is marked failed",
    )

    class Meta:
        verbose_name_plural = "training policy"

    def __str__(self):
        return "training policy"
