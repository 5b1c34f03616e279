"""Reviewers' work: their verdicts, the items waiting for a second look, and the rules for both."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from labeler.models.singleton import SingletonPolicy


class Review(models.Model):
    """A reviewer's verdict on one human label or one pseudo-label.

    Never deleted: an undo marks it withdrawn. `transaction` repeats the target's transaction so
    that a transaction's whole history is one indexed read.
    """

    class Verdict(models.TextChoices):
        AGREE = "agree"
        OVERRULE = "overrule"
        SEND_BACK = "send_back", "sent back for a second opinion"

    class Status(models.TextChoices):
        ACTIVE = "active"
        WITHDRAWN = "withdrawn"

    transaction = models.ForeignKey(
        "labeler.Transaction", on_delete=models.PROTECT, related_name="reviews"
    )
    label = models.ForeignKey(
        "labeler.Label", null=True, blank=True, on_delete=models.PROTECT, related_name="reviews"
    )
    pseudo_label = models.ForeignKey(
        "labeler.PseudoLabel",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reviews",
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    review_item = models.ForeignKey(
        "labeler.ReviewItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviews",
        help_text="the review-queue item this verdict resolved (none for admin actions)",
    )
    new_class = models.ForeignKey(
        "labeler.LabelClass", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(label__isnull=False) & Q(pseudo_label__isnull=True))
                | (Q(label__isnull=True) & Q(pseudo_label__isnull=False)),
                name="review_targets_one_label",
            ),
            models.CheckConstraint(
                condition=(Q(verdict="overrule") & Q(new_class__isnull=False))
                | (Q(verdict__in=["agree", "send_back"]) & Q(new_class__isnull=True)),
                name="review_overrule_names_class",
            ),
            models.CheckConstraint(
                condition=Q(verdict="send_back", label__isnull=False) | ~Q(verdict="send_back"),
                name="review_send_back_is_for_labels",
            ),
        ]
        indexes = [models.Index(fields=["reviewer", "created_at"], name="review_reviewer_created")]

    def __str__(self):
        target = (
            f"label {self.label_id}" if self.label_id else f"pseudo-label {self.pseudo_label_id}"
        )
        return f"{self.verdict} on {target} by {self.reviewer}"


class ReviewItem(models.Model):
    """A transaction waiting for a reviewer, why, and who holds it now.

    At most one open item per transaction; the reviewer's verdict settles the transaction's
    class, and every opinion on it (human labels, the spot-checked pseudo-label) gets a review.
    """

    class Reason(models.TextChoices):
        REJECTED_CONFIDENT = "rejected_confident", "rejected a confident suggestion"
        DISAGREEMENT = "disagreement", "annotators disagree"
        SPOT_CHECK = "spot_check", "pseudo-label spot check"
        FOUR_EYES = "four_eyes", "four eyes on fraud"

    transaction = models.ForeignKey(
        "labeler.Transaction", on_delete=models.CASCADE, related_name="review_items"
    )
    reason = models.CharField(max_length=24, choices=Reason.choices)
    also_reasons = models.JSONField(
        default=list,
        blank=True,
        help_text="further reasons that arrived while the item was open (one item per "
        "transaction: a later reason is added here, never lost)",
    )
    # Spot checks only: the pseudo-label under review. Deleted with it when the version that
    # wrote it is replaced before anyone looked.
    pseudo_label = models.ForeignKey(
        "labeler.PseudoLabel",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="review_items",
    )
    leased_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The request that resolved it: the same request again is answered, not recorded twice.
    resolved_token = models.CharField(max_length=64, blank=True)
    resolved_class = models.ForeignKey(
        "labeler.LabelClass", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["transaction"],
                condition=Q(resolved_at__isnull=True),
                name="reviewitem_one_open_per_transaction",
            ),
            models.CheckConstraint(
                condition=(Q(leased_to__isnull=True) & Q(lease_expires_at__isnull=True))
                | (Q(leased_to__isnull=False) & Q(lease_expires_at__isnull=False)),
                name="reviewitem_lease_has_holder_and_expiry",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True)
                | Q(resolved_by__isnull=False, resolved_class__isnull=False),
                name="reviewitem_resolution_names_reviewer_and_class",
            ),
            models.CheckConstraint(
                condition=Q(reason="spot_check", pseudo_label__isnull=False)
                | (~Q(reason="spot_check") & Q(pseudo_label__isnull=True)),
                name="reviewitem_spot_check_names_pseudo_label",
            ),
        ]
        indexes = [
            models.Index(fields=["resolved_at", "created_at"], name="reviewitem_open_created"),
            models.Index(fields=["resolved_by", "resolved_at"], name="reviewitem_resolved_by"),
        ]

    def __str__(self):
        state = "open" if self.resolved_at is None else "resolved"
        return f"{self.transaction} ({self.get_reason_display()}, {state})"

    def reasons_display(self) -> list[str]:
        labels = dict(self.Reason.choices)
        return [labels.get(reason, reason) for reason in [self.reason, *self.also_reasons]]


class ReviewPolicy(SingletonPolicy):
    """Which items need a reviewer: one row, edited in the admin."""

    confident_threshold = models.FloatField(
        default=0.9,
        validators=[MinValueValidator(0.5), MaxValueValidator(1.0)],
        help_text="an annotator who rejects a suggestion at least this probable sends the item "
        "to review",
    )
    four_eyes_for_fraud = models.BooleanField(
        default=False, help_text="every label of the fraud class goes to a reviewer"
    )
    spot_checks_per_class = models.PositiveIntegerField(
        default=10,
        help_text="pseudo-labels of each class drawn at random from every new model version "
        "for a reviewer to check",
    )

    class Meta:
        verbose_name_plural = "review policy"
        constraints = [
            models.CheckConstraint(
                condition=Q(confident_threshold__gte=0.5, confident_threshold__lte=1.0),
                name="reviewpolicy_threshold_in_half_1",
            ),
        ]

    def __str__(self):
        return "review policy"
