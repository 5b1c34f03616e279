"""Rows a finished run writes before its activation: its scores and its queue, swapped in
by the switch (`labeler.services.activation`)."""

from __future__ import annotations

from django.db import models

from labeler.models.queue import QueueEntry
from labeler.models.training import ModelVersion


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
    # What an item is shown with once the version is active, and its audit inclusion
    # probability (frame rows only).
    suggested_class = models.ForeignKey(
        "labeler.LabelClass",
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    audit_inclusion = models.FloatField(null=True)

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
    explanation = models.JSONField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["model_version", "transaction"], name="plannedqueue_version_row")
        ]

    def __str__(self):
        return f"v{self.model_version_id}: {self.transaction_id} ({self.reason})"
