"""The annotation queue: what to show annotators next, why, and who holds it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from labeler.models.training import ModelVersion
from labeler.models.transactions import class_probability


class QueueEntry(models.Model):
    """An item to show an annotator next, why it was picked, and who holds it now."""

    class Reason(models.TextChoices):
        UNCERTAIN = "uncertain"
        AUDIT = "audit", "audit (drawn at random, for the quality figures)"
        DISAGREEMENT = "disagreement", "models disagree"
        COLD_START = "cold_start", "cold start (anomaly score)"
        LIKELY_FRAUD = "likely_fraud", "likely fraud"
        ANOMALY = "anomaly", "anomalous (no likely fraud left)"
        ENTITY_RISK = "entity_risk", "merchant with recent known frauds"
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
    # Neither this nor the suggested class has a database foreign key either: PostgreSQL
    # checks both for each of the swap's 20,000 rows at commit (110 ms of the switch), and the
    # swap copies them from the run's own plan. Django still applies SET_NULL and PROTECT.
    model_version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    score = models.FloatField(null=True, blank=True, help_text="probability of fraud shown")
    suggested_class = models.ForeignKey(
        "labeler.LabelClass",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # a handful of classes: an index would only slow the queue's swap
        db_constraint=False,
    )
    audit_inclusion = models.FloatField(null=True, blank=True)
    # Why the version scores the item so: its strongest reasons (modeling/explain.py), each
    # {"name", "log_odds", "deviation"}; None where the run explained no more items.
    explanation = models.JSONField(null=True, blank=True)
    leased_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # queueentry_holder starts with it; one index less for the swap to fill
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
