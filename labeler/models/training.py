"""What training produces: model versions, and the queue of items to show annotators next."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    """One trained model with everything needed to judge and reproduce it."""

    class Kind(models.TextChoices):
        WEAK = "weak", "weak classifier"
        SGAN = "sgan", "semi-supervised GAN"
        AUTOENCODER = "autoencoder", "autoencoder"

    class Status(models.TextChoices):
        TRAINING = "training"
        READY = "ready"
        ACTIVE = "active"
        FAILED = "failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRAINING)
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

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(status="active"),
                name="modelversion_one_active_per_kind",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} v{self.pk} ({self.status})"


class QueueEntry(models.Model):
    """An item to show an annotator next, why it was picked, and who holds it now."""

    class Reason(models.TextChoices):
        UNCERTAIN = "uncertain"
        AUDIT = "audit", "random audit"
        DISAGREEMENT = "disagreement", "models disagree"
        COLD_START = "cold_start", "cold start (anomaly score)"
        LIKELY_FRAUD = "likely_fraud", "likely fraud"

    transaction = models.OneToOneField(
        "labeler.Transaction", on_delete=models.CASCADE, related_name="queue_entry"
    )
    priority = models.FloatField(help_text="higher is shown first")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
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
        indexes = [models.Index(fields=["-priority"], name="queueentry_priority")]

    def __str__(self):
        return f"{self.transaction} ({self.reason}, {self.priority:.3f})"
