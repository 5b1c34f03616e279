"""What training produces: model versions, and the queue of items to show annotators next."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from labeler.models import memory
from labeler.models.singleton import SingletonPolicy
from labeler.models.transactions import class_probability


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


class QueueEntry(models.Model):
    """An item to show an annotator next, why it was picked, and who holds it now."""

    class Reason(models.TextChoices):
        UNCERTAIN = "uncertain"
        AUDIT = "audit", "audit (drawn at random, for the quality figures)"
        DISAGREEMENT = "disagreement", "models disagree"
        COLD_START = "cold_start", "cold start (anomaly score)"
        LIKELY_FRAUD = "likely_fraud", "likely fraud"
        ANOMALY = "anomaly", "anomalous (no likely fraud left)"
        SECOND_OPINION = "second_opinion", "second opinion (sent back by a reviewer)"
        ARRIVAL = "arrival", "new arrival, among the likely frauds"

    # No database foreign key: its per-row check share-locks every queued transaction row as
    # the activation swaps the queue in (20,000 rows: 0.24 s of the switch's 0.6 s on
    # PostgreSQL), while the swap only ever copies ids from the run's own plan. Deleting a
    # transaction (with its dataset) still deletes its entry: Django cascades.
    transaction = models.OneToOneField(
        "labeler.Transaction",
        on_delete=models.CASCADE,
        related_name="queue_entry",
        db_constraint=False,
    )
    priority = models.FloatField(help_text="higher is shown first")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    # The suggestion the item is shown with, as the version that queued it scored it. It lives
    # on the entry, not only on the transaction, so that an activation replaces the queue
    # without writing (and locking) the queued transactions: their rows get the new version's
    # scores in batches after it, while annotators answer.
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.FloatField(null=True, blank=True, help_text="probability of fraud shown")
    suggested_class = models.ForeignKey(
        "labeler.LabelClass",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # a handful of classes: an index would only slow the queue's swap
    )
    audit_inclusion = models.FloatField(null=True, blank=True)
    # Why the version scores the item so: its strongest reasons (modeling/explain.py), each
    # {"name", "log_odds", "deviation"}; None where the run explained no more items.
    explanation = models.JSONField(null=True, blank=True)
    leased_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-priority", "id"]
        verbose_name_plural = "queue entries"
        constraints = [
            models.CheckConstraint(
                condition=(Q(leased_to__isnull=True) & Q(lease_expires_at__isnull=True))
                | (Q(leased_to__isnull=False) & Q(lease_expires_at__isnull=False)),
                name="queueentry_lease_has_holder_and_expiry",
            ),
        ]
        indexes = [
            models.Index(fields=["-priority"], name="queueentry_priority"),
            # "The item this annotator holds": found through the holder, not by walking the
            # whole queue in priority order (what PostgreSQL did on fresh statistics).
            models.Index(fields=["leased_to", "-priority", "id"], name="queueentry_holder"),
        ]

    def __str__(self):
        return f"{self.transaction} ({self.reason}, {self.priority:.3f})"

    @staticmethod
    def suggestion_of(transaction) -> dict:
        """The fields of an entry that shows `transaction` with its latest scores (an entry
        made outside a run's plan: an undo, a second opinion)."""
        return {
            "model_version_id": transaction.scored_by_id,
            "score": transaction.score,
            "suggested_class_id": transaction.suggested_class_id,
            "audit_inclusion": transaction.audit_inclusion,
        }

    def probability_of(self, label_class) -> float | None:
        """The queuing version's probability of `label_class`; None when the item is unscored
        or no class is given."""
        return class_probability(self.score, label_class)


class VersionRow(models.Model):
    """A row a run writes for one transaction before its activation (a staged score, a planned
    queue entry). No database foreign keys, as for ReferenceLabel: 285k per-row checks per run
    buy nothing for rows that live a few seconds and are written only by the training service."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    transaction = models.ForeignKey(
        "labeler.Transaction", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )

    class Meta:
        abstract = True


class StagedScore(VersionRow):
    """A finished run's scores, waiting for its activation to copy them onto `Transaction`.

    Scoring happens before activation, but annotators must keep seeing the active version's
    scores until the new version takes over: batches of their own copy them right after the
    switch (`labeler.services.activation`).
    """

    score = models.FloatField()
    uncertainty = models.FloatField(null=True)
    audit_inclusion = models.FloatField(null=True)  # frame rows only
    suggested_class = models.ForeignKey(
        "labeler.LabelClass",
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        # Batches walk one version's rows in transaction order.
        indexes = [
            models.Index(fields=["model_version", "transaction"], name="stagedscore_version_row")
        ]

    def __str__(self):
        return f"v{self.model_version_id}: {self.transaction_id} = {self.score:.3f}"


class PlannedQueueEntry(VersionRow):
    """A finished run's queue, written before its activation, so that the switch swaps it in
    with one INSERT ... SELECT instead of sending every item over while annotators wait. Only
    the training service writes these rows; they are dropped once the switch is done."""

    priority = models.FloatField()
    reason = models.CharField(max_length=16, choices=QueueEntry.Reason.choices)
    score = models.FloatField(null=True)
    suggested_class = models.ForeignKey(
        "labeler.LabelClass",
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    audit_inclusion = models.FloatField(null=True)
    explanation = models.JSONField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["model_version", "transaction"], name="plannedqueue_version_row")
        ]

    def __str__(self):
        return f"v{self.model_version_id}: {self.transaction_id} ({self.reason})"
