"""Datasets, their import batches and the transactions they hold."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import models

from labeler.models import memory


class Dataset(memory.ForgetOnWrite):
    """A set of transactions sharing one feature schema; every import adds to one dataset."""

    name = models.SlugField(max_length=64, unique=True)
    feature_names = models.JSONField(default=list)
    # Which column of the dataset's files plays which part beyond the features, set by its first
    # import and checked on every later one: {"card": column, "merchant": column, "categorical":
    # [[column, [values encoded, most frequent first]], ...], "text": [columns], "kept":
    # [columns kept as written], "time": "seconds" | "datetime"}. Empty for files of numbers.
    schema = models.JSONField(default=dict, blank=True)
    audit_frame_share = models.FloatField(
        default=0.1,
        help_text="share of each import set aside as the audit frame: rows no model learns "
        "from, sampled by the audit for honest quality figures (fixed when the dataset is made)",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @classmethod
    def remembered(cls, pk: int) -> Dataset:
        """The dataset from memory for `memory.CACHE_SECONDS` (every item shown names its
        features from it; a dataset's schema is set by its first import)."""
        return memory.remembered(cls, lambda: cls.objects.get(pk=pk), key=pk)


class ImportBatch(models.Model):
    """One imported file: what came in, from where, and how its label column was treated."""

    class LabelMode(models.TextChoices):
        IGNORE = "ignore", "label column ignored"
        TRUSTED = "trusted", "trusted labels (e.g. chargebacks)"
        REFERENCE = "reference", "held-back reference labels (evaluation only)"

    class Source(models.TextChoices):
        FILE = "file", "a file (the import page, the API or the command)"
        ARRIVALS = "arrivals", "arrivals sent to the ingestion API"

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="import_batches")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.FILE)
    file_name = models.CharField(max_length=255)
    checksum = models.CharField(max_length=64, help_text="sha256 of the file as uploaded")
    row_count = models.PositiveIntegerField()
    label_mode = models.CharField(max_length=16, choices=LabelMode.choices)
    label_count = models.PositiveIntegerField(default=0)
    feature_names = models.JSONField(default=list)
    column_mapping = models.JSONField(default=dict)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    duration_seconds = models.FloatField(default=0.0)
    # Arrivals only: how the version that scored them counted their score and inputs into its
    # drift reference's bins ({"version", "counts"}; modeling/drift.py), summed by the dashboard.
    drift = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "import batches"
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "checksum"], name="importbatch_checksum_unique_per_dataset"
            ),
        ]

    def __str__(self):
        return f"{self.file_name} → {self.dataset} ({self.row_count} rows)"


class Transaction(models.Model):
    """One card transaction; `features` is a little-endian float32 vector, the source of truth."""

    # The composite indexes below start with dataset: a separate one would only slow imports.
    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="transactions", db_index=False
    )
    import_batch = models.ForeignKey(
        ImportBatch, on_delete=models.PROTECT, related_name="transactions"
    )
    external_id = models.CharField(max_length=128)
    time = models.FloatField(
        help_text="seconds, as in the imported file; for date-times, since 1970-01-01 UTC"
    )
    amount = models.FloatField()
    features = models.BinaryField()
    # The entities it belongs to, as the file names them: the card (or customer, account) and
    # the merchant (or terminal). Their histories are the case view and the derived features;
    # NULL, not "", where a file has none: the history indexes leave those rows out.
    card_key = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    merchant_key = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    # Every other column a person reads, as written in the file (dates, category, country,
    # description, ...); the numeric features live in `features`, the label column nowhere here.
    attributes = models.JSONField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True, help_text="latest probability of fraud")
    uncertainty = models.FloatField(null=True, blank=True)
    suggested_class = models.ForeignKey(
        "labeler.LabelClass",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    scored_by = models.ForeignKey(
        "labeler.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    imported_at = models.DateTimeField()
    # The audit frame (modeling/audit.py): a random share of each dataset that no model learns
    # from. A frame row carries its permanent random number (uniform in [0, 1)) and joins the
    # audit sample once its inclusion probability, the largest any version's design gave it,
    # exceeds that number. Outside the frame both are NULL.
    audit_number = models.FloatField(null=True, blank=True)
    audit_inclusion = models.FloatField(
        null=True, blank=True, help_text="probability that the audit has drawn this row by now"
    )

    class Meta:
        ordering = ["dataset_id", "id"]
        permissions = [("ingest", "Can send transactions to the ingestion API")]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "external_id"], name="transaction_external_id_unique_per_dataset"
            ),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=0, score__lte=1),
                name="transaction_score_is_probability",
            ),
            models.CheckConstraint(
                condition=models.Q(uncertainty__isnull=True)
                | models.Q(uncertainty__gte=0, uncertainty__lte=1),
                name="transaction_uncertainty_in_unit_interval",
            ),
            models.CheckConstraint(
                condition=models.Q(audit_number__isnull=True)
                | models.Q(audit_number__gte=0, audit_number__lt=1),
                name="transaction_audit_number_in_unit_interval",
            ),
            models.CheckConstraint(
                condition=models.Q(audit_inclusion__isnull=True)
                | models.Q(audit_inclusion__gte=0, audit_inclusion__lte=1),
                name="transaction_audit_inclusion_is_probability",
            ),
        ]
        indexes = [
            models.Index(fields=["dataset", "time"], name="transaction_dataset_time"),
            # A card's or a merchant's history, in time order; rows without one cost nothing.
            models.Index(
                fields=["dataset", "card_key", "time"],
                name="transaction_card_history",
                condition=models.Q(card_key__isnull=False),
            ),
            models.Index(
                fields=["dataset", "merchant_key", "time"],
                name="transaction_merchant_history",
                condition=models.Q(merchant_key__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.dataset}:{self.external_id}"

    @property
    def in_audit_frame(self) -> bool:
        return self.audit_number is not None

    @property
    def feature_vector(self) -> np.ndarray:
        return np.frombuffer(bytes(self.features), dtype="<f4")

    def probability_of(self, label_class) -> float | None:
        """The latest model's probability of `label_class`; None when the transaction is
        unscored or no class is given."""
        return class_probability(self.score, label_class)


def class_probability(score: float | None, label_class) -> float | None:
    """The probability of `label_class` from a fraud probability `score` (the positive
    class's); None when either is missing."""
    if score is None or label_class is None:
        return None
    return score if label_class.is_positive else 1.0 - score
