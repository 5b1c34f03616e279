"""Decisions about a transaction's class: human labels, pseudo-labels, reference labels."""

from django.conf import settings
from django.db import models
from django.db.models import Q


def _probability_check(field: str, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 0, f"{field}__lte": 1}),
        name=name,
    )


class LabelQuerySet(models.QuerySet):
    def counted(self):
        """People's labels as every count shows them: given by an annotator and not undone (an
        overruled label was still an answer; a superseded one was taken back)."""
        return self.filter(annotator__isnull=False).exclude(status=Label.Status.SUPERSEDED)


class Label(models.Model):
    """A human decision. Rows are never deleted: an undo or an overrule changes `status`."""

    class Decision(models.TextChoices):
        CONFIRM = "confirm", "confirmed the suggestion"
        REJECT = "reject", "rejected the suggestion"
        MANUAL = "manual", "chose a class"
        IMPORTED = "imported", "imported as trusted"

    class Status(models.TextChoices):
        ACTIVE = "active"
        SUPERSEDED = "superseded"
        OVERRULED = "overruled"

    transaction = models.ForeignKey(
        "labeler.Transaction", on_delete=models.PROTECT, related_name="labels"
    )
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="labels",
        help_text="empty for trusted labels that came with an import",
    )
    label_class = models.ForeignKey(
        "labeler.LabelClass", on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=16, choices=Decision.choices)
    suggested_class = models.ForeignKey(
        "labeler.LabelClass", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    suggested_probability = models.FloatField(null=True, blank=True)
    suggested_by = models.ForeignKey(
        "labeler.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queue_reason = models.CharField(
        max_length=16,
        blank=True,
        default="",
        db_default="",  # the bulk write path of imports leaves the column out
        help_text="why the queue showed the item ('audit': drawn at random by the audit)",
    )
    audit_inclusion_probability = models.FloatField(
        null=True,
        blank=True,
        help_text="for an audit pick: the probability that the audit had drawn this transaction "
        "when it was answered (quality figures weight the label by its inverse)",
    )
    time_taken_ms = models.PositiveIntegerField(null=True, blank=True)
    known_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="when the class became known, for a label that arrived later than its "
        "transaction (a chargeback's date); empty: when it was recorded",
    )
    # NULL, not "", for labels without a token: NULLs never collide in the unique constraint.
    request_token = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    import_batch = models.ForeignKey(
        "labeler.ImportBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    case_id = models.UUIDField(
        null=True,
        blank=True,
        help_text="shared by the labels an annotator gave a card's transactions with one key "
        "(one case: written together, undone together)",
    )

    objects = LabelQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("annotate", "Can label transactions on the annotator page"),
            ("review", "Can review, agree with and overrule labels"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["transaction", "annotator"],
                condition=Q(status="active"),
                name="label_one_active_per_annotator",
            ),
            # NULLs are distinct in a unique index: imported labels need their own rule.
            models.UniqueConstraint(
                fields=["transaction"],
                condition=Q(status="active", annotator__isnull=True),
                name="label_one_active_imported",
            ),
            models.UniqueConstraint(
                fields=["transaction", "annotator", "request_token"],
                condition=Q(request_token__isnull=False),
                name="label_once_per_request_token",
            ),
            models.CheckConstraint(
                condition=Q(annotator__isnull=False) | Q(decision="imported"),
                name="label_human_has_annotator",
            ),
            _probability_check("suggested_probability", "label_suggested_probability_in_0_1"),
            _probability_check(
                "audit_inclusion_probability", "label_audit_inclusion_probability_in_0_1"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="label_status_created"),
            models.Index(fields=["case_id"], name="label_case", condition=Q(case_id__isnull=False)),
        ]

    def __str__(self):
        who = self.annotator or "import"
        return f"{self.transaction} = {self.label_class} by {who} ({self.status})"


class PseudoLabel(models.Model):
    """A model's confident label: kept apart from human labels and weighed lower in training."""

    transaction = models.ForeignKey(
        "labeler.Transaction", on_delete=models.CASCADE, related_name="pseudo_labels"
    )
    label_class = models.ForeignKey(
        "labeler.LabelClass", on_delete=models.PROTECT, related_name="+"
    )
    model_version = models.ForeignKey(
        "labeler.ModelVersion", on_delete=models.CASCADE, related_name="pseudo_labels"
    )
    probability = models.FloatField()
    weight = models.FloatField(default=0.5, help_text="training weight relative to a human label")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["transaction", "model_version"], name="pseudolabel_once_per_version"
            ),
            _probability_check("probability", "pseudolabel_probability_in_0_1"),
            models.CheckConstraint(
                condition=Q(weight__gte=0, weight__lte=1), name="pseudolabel_weight_in_0_1"
            ),
        ]

    def __str__(self):
        version = self.model_version_id
        return f"{self.transaction} ≈ {self.label_class} ({self.probability:.2f}, v{version})"


class ReferenceLabel(models.Model):
    """A held-back true class, for evaluation and the simulated annotator only.

    It lives in its own table so that nothing reading `Label` (training, the annotator page,
    exports of human work) can see it by accident.
    """

    # No foreign-key constraints in the database: on PostgreSQL their per-row checks doubled the
    # time of a 285k-row import. These rows are written only by the import, in the same
    # transaction as the transactions they describe, and never edited; the ORM still cascades.
    transaction = models.OneToOneField(
        "labeler.Transaction",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="reference_label",
        db_constraint=False,
    )
    label_class = models.ForeignKey(
        "labeler.LabelClass", on_delete=models.PROTECT, related_name="+", db_constraint=False
    )

    def __str__(self):
        return f"{self.transaction_id} → {self.label_class_id}"
