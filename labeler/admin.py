"""The Django admin: every table, with history-bearing rows read-only and labels never deleted."""

from django.contrib import admin
from django.db.models import Count

from labeler.models import (
    Dataset,
    ImportBatch,
    Label,
    LabelClass,
    ModelVersion,
    PseudoLabel,
    QueueEntry,
    ReferenceLabel,
    Review,
    Transaction,
    WorkerHeartbeat,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that record history: visible to staff, changed only through the services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LabelClass)
class LabelClassAdmin(admin.ModelAdmin):
    list_display = ["name", "display_name", "code", "hotkey", "colour", "position", "is_positive"]
    list_editable = ["display_name", "hotkey", "colour"]

    def has_delete_permission(self, request, obj=None):
        return False  # labels refer to classes; a deleted class would orphan history


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "feature_count", "transaction_count", "created_at"]
    readonly_fields = ["feature_names", "created_at"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(transaction_count=Count("transactions"))

    @admin.display(description="features")
    def feature_count(self, obj):
        return len(obj.feature_names)

    @admin.display(description="transactions", ordering="transaction_count")
    def transaction_count(self, obj):
        return obj.transaction_count

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "file_name",
        "dataset",
        "row_count",
        "label_mode",
        "label_count",
        "imported_by",
        "duration_seconds",
        "created_at",
    ]
    list_filter = ["dataset", "label_mode", "created_at"]
    search_fields = ["file_name", "checksum"]
    date_hierarchy = "created_at"


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
    readonly_fields = ["feature_values"]
    show_full_result_count = False  # counting 285k rows on every page is slow on PostgreSQL

    @admin.display(description="features")
    def feature_values(self, obj):
        names = obj.dataset.feature_names
        return ", ".join(
            f"{name}={value:.3f}" for name, value in zip(names, obj.feature_vector, strict=False)
        )


@admin.register(Label)
class LabelAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "transaction",
        "label_class",
        "decision",
        "annotator",
        "suggested_class",
        "suggested_probability",
        "status",
        "created_at",
    ]
    list_filter = ["label_class", "decision", "status", "annotator", "suggested_by"]
    search_fields = ["transaction__external_id", "annotator__username"]
    list_select_related = ["transaction", "label_class", "annotator", "suggested_class"]
    date_hierarchy = "created_at"


@admin.register(PseudoLabel)
class PseudoLabelAdmin(ReadOnlyAdmin):
    list_display = ["id", "transaction", "label_class", "probability", "weight", "model_version"]
    list_filter = ["label_class", "model_version"]
    search_fields = ["transaction__external_id"]
    list_select_related = ["transaction", "label_class", "model_version"]


@admin.register(ReferenceLabel)
class ReferenceLabelAdmin(ReadOnlyAdmin):
    list_display = ["transaction", "label_class"]
    list_filter = ["label_class", "transaction__import_batch"]
    search_fields = ["transaction__external_id"]
    list_select_related = ["transaction", "label_class"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["id", "verdict", "label", "pseudo_label", "new_class", "reviewer", "created_at"]
    list_filter = ["verdict", "new_class", "reviewer"]
    date_hierarchy = "created_at"


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "status", "dataset", "device", "created_at", "activated_at"]
    list_filter = ["kind", "status", "device"]
    date_hierarchy = "created_at"


@admin.register(QueueEntry)
class QueueEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "transaction",
        "priority",
        "reason",
        "model_version",
        "leased_to",
        "lease_expires_at",
    ]
    list_filter = ["reason", "model_version", "leased_to"]
    search_fields = ["transaction__external_id"]
    list_select_related = ["transaction", "model_version", "leased_to"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["hostname", "last_seen"]
