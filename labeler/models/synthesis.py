"""A request for a synthetic copy of a dataset: what was asked, how far the worker got, where
the file and its report were written."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class SynthesisRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    class Generator(models.TextChoices):
        AUTO = "auto", "the best on fidelity of those that pass privacy"
        KERNEL = "kernel", "local kernel density"
        CVAE = "cvae", "conditional VAE"
        CGAN = "cgan", "conditional WGAN-GP"

    class Format(models.TextChoices):
        CSV = "csv"
        PARQUET = "parquet"

    dataset = models.ForeignKey("labeler.Dataset", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows = models.PositiveIntegerField()
    fraud_share = models.FloatField(help_text="the positive class's share of the rows written")
    generator = models.CharField(max_length=8, choices=Generator.choices, default=Generator.AUTO)
    epochs = models.PositiveSmallIntegerField(default=30)
    output_format = models.CharField(max_length=8, choices=Format.choices, default=Format.CSV)
    seed = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent of the run done")
    stage = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    # As for training runs: a run whose process is gone, or that stops reporting, is failed.
    run_host = models.CharField(max_length=255, blank=True)
    run_process = models.CharField(max_length=64, blank=True, help_text="'pid:start time'")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # What it learned from: a generator is reused only while this is unchanged.
    training_signature = models.CharField(max_length=128, blank=True)
    chosen_generator = models.CharField(max_length=8, blank=True)
    reused_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    output_path = models.CharField(max_length=500, blank=True)
    generator_path = models.CharField(max_length=500, blank=True)
    report = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(fraud_share__gte=0) & Q(fraud_share__lte=1),
                name="synthesisrun_fraud_share_0_1",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="synthesisrun_progress_percent"
            ),
        ]

    def __str__(self):
        return f"synthesis {self.pk} of {self.dataset} ({self.rows} rows, {self.status})"
