"""Admin of what training produces: model versions, the training policy, the annotation queue."""

from django.contrib import admin
from django.contrib.humanize.templatetags.humanize import intcomma

from labeler.admin.base import ReadOnlyAdmin
from labeler.models import ModelVersion, QueueEntry, SynthesisRun, TrainingPolicy
from labeler.quality_view import quality_view


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "status",
        "dataset",
        "trigger",
        "stage",
        "progress",
        "audit_average_precision",
        "average_precision",
        "labels",
        "pseudo_labels",
        "seconds",
        "device",
        "created_at",
        "activated_at",
    ]
    list_filter = ["kind", "status", "trigger", "device", "dataset"]
    search_fields = ["=id", "error", "worker"]
    date_hierarchy = "created_at"

    @admin.display(description="AP on chosen labels (optimistic)")
    def average_precision(self, obj):
        value = (obj.metrics.get("cross_validation") or {}).get("average_precision")
        return "-" if value is None else f"{value:.3f}"

    @admin.display(description="AP (audit estimate, 90% interval)")
    def audit_average_precision(self, obj):
        view = quality_view(obj)
        return "-" if view is None else view.short

    @admin.display(description="human labels")
    def labels(self, obj):
        return intcomma(obj.training_counts.get("human_labels", "-"))

    @admin.display(description="pseudo-labels")
    def pseudo_labels(self, obj):
        return intcomma(obj.training_counts.get("pseudo_labels_out", "-"))

    @admin.display(description="seconds")
    def seconds(self, obj):
        total = obj.durations.get("total")
        return "-" if total is None else f"{total:,.1f}"


@admin.register(TrainingPolicy)
class TrainingPolicyAdmin(admin.ModelAdmin):
    """The 'min new labels' rule the schedule and the labels trigger share; the schedule's
    interval is the periodic task 'retrain when enough new labels' (Periodic tasks)."""

    list_display = [
        "__str__",
        "min_new_labels",
        "retrain_on_labels",
        "queue_size",
        "audit_share",
        "window_days",
    ]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not TrainingPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(QueueEntry)
class QueueEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "transaction",
        "priority",
        "reason",
        "model_version",
        "leased_to",
        "lease_expires_at",
        "created_at",
    ]
    list_filter = ["reason", "model_version", "leased_to"]
    search_fields = ["transaction__external_id"]
    list_select_related = ["transaction", "model_version", "leased_to"]
    date_hierarchy = "created_at"


@admin.register(SynthesisRun)
class SynthesisRunAdmin(ReadOnlyAdmin):
    """Synthetic copies: who asked for what, and the report's verdicts (requested from the
    dashboard, the API or `manage.py synthesize`)."""

    list_display = [
        "id",
        "dataset",
        "status",
        "rows",
        "fraud_share",
        "chosen_generator",
        "fidelity",
        "privacy",
        "requested_by",
        "created_at",
    ]
    list_filter = ["status", "chosen_generator", "dataset"]
    search_fields = ["=id", "error"]

    def has_view_permission(self, request, obj=None):
        # Whoever may request a copy (staff: the card, the API) may see the requests.
        return request.user.is_active and request.user.is_staff

    @admin.display(description="real vs synthetic AUC")
    def fidelity(self, obj):
        figures = (obj.report or {}).get("fidelity")
        return "-" if not figures else f"{figures['real_vs_synthetic_auc']:.3f}"

    @admin.display(description="privacy check", boolean=True)
    def privacy(self, obj):
        figures = (obj.report or {}).get("privacy")
        return None if not figures else figures["passed"]
