"""Admin of transactions: each one's whole history on its page (human labels, pseudo-labels,
reviews, review items) and what every kept model version makes of it."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from labeler.admin.base import ReadOnlyAdmin, ReadOnlyInline
from labeler.models import Label, PseudoLabel, Review, ReviewItem, Transaction


class LabelInline(ReadOnlyInline):
    model = Label
    fk_name = "transaction"
    fields = [
        "created_at",
        "annotator",
        "label_class",
        "decision",
        "status",
        "suggested_class",
        "suggested_probability",
        "suggested_by",
        "queue_reason",
        "time_taken_ms",
        "supersedes",
    ]
    ordering = ["created_at", "id"]


class PseudoLabelInline(ReadOnlyInline):
    model = PseudoLabel
    fields = ["created_at", "model_version", "label_class", "probability", "weight"]
    ordering = ["-model_version_id"]


class ReviewInline(ReadOnlyInline):
    model = Review
    fields = ["created_at", "reviewer", "verdict", "new_class", "label", "pseudo_label", "status"]
    ordering = ["created_at", "id"]


class ReviewItemInline(ReadOnlyInline):
    model = ReviewItem
    fields = ["created_at", "reason", "leased_to", "resolved_at", "resolved_by", "resolved_class"]
    ordering = ["created_at", "id"]


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "dataset",
        "time",
        "amount",
        "score",
        "uncertainty",
        "suggested_class",
        "scored_by",
    ]
    list_filter = ["dataset", "suggested_class", "scored_by"]
    search_fields = ["external_id"]
    list_select_related = ["dataset", "suggested_class", "scored_by"]
    exclude = ["features"]
    readonly_fields = ["feature_values", "scores_by_version"]
    inlines = [LabelInline, PseudoLabelInline, ReviewInline, ReviewItemInline]
    show_full_result_count = False  # counting 285k rows on every page is slow on PostgreSQL

    @admin.display(description="features")
    def feature_values(self, obj):
        names = obj.dataset.feature_names
        return ", ".join(
            f"{name}={value:.3f}" for name, value in zip(names, obj.feature_vector, strict=False)
        )

    @admin.display(description="scores by model version")
    def scores_by_version(self, obj):
        """Each kept version's fraud probability for this transaction, from its model file."""
        from labeler.services.training.rescoring import transaction_scores_by_version

        rows = transaction_scores_by_version(transaction=obj)
        if not rows:
            return "no trained version yet"
        return format_html(
            "<table><tr><th>version</th><th>status</th><th>kind</th><th>fraud probability</th>"
            "<th>anomaly rank</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>v{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        row.version.pk,
                        row.version.status,
                        row.version.get_kind_display(),
                        row.error
                        or (
                            "-" if row.fraud_probability is None else f"{row.fraud_probability:.4f}"
                        ),
                        "-" if row.anomaly is None else f"{row.anomaly:.3f}",
                    )
                    for row in rows
                ),
            ),
        )
