"""Admin of the data's frame: label classes, datasets, import batches, reference labels,
worker heartbeats."""

from django.contrib import admin
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Count

from labeler.admin.base import ReadOnlyAdmin
from labeler.models import Dataset, ImportBatch, LabelClass, ReferenceLabel, WorkerHeartbeat


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
        return intcomma(obj.transaction_count)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "file_name",
        "dataset",
        "rows",
        "label_mode",
        "labels",
        "imported_by",
        "duration_seconds",
        "created_at",
    ]
    list_filter = ["dataset", "label_mode", "created_at"]
    search_fields = ["file_name", "checksum"]
    date_hierarchy = "created_at"

    @admin.display(description="rows", ordering="row_count")
    def rows(self, obj):
        return intcomma(obj.row_count)

    @admin.display(description="labels", ordering="label_count")
    def labels(self, obj):
        return intcomma(obj.label_count)


@admin.register(ReferenceLabel)
class ReferenceLabelAdmin(ReadOnlyAdmin):
    list_display = ["transaction", "label_class"]
    list_filter = ["label_class", "transaction__import_batch"]
    search_fields = ["transaction__external_id"]
    list_select_related = ["transaction", "label_class"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["hostname", "last_seen"]
