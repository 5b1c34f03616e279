"""Admin of decisions: human labels, pseudo-labels, reviews, review items and the review policy,
with the reviewer's actions (agree, overrule to a class, send back to the queue)."""

from collections import defaultdict

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import F, Q

from labeler.admin.base import ReadOnlyAdmin
from labeler.errors import FraudloopError
from labeler.models import Label, LabelClass, PseudoLabel, Review, ReviewItem, ReviewPolicy
from labeler.services.review import label_send_back, transaction_review
from labeler.services.review_rules import review_items_refresh

REVIEW_PERMISSION = "labeler.review"


class DisagreesWithModel(admin.SimpleListFilter):
    title = "disagrees with the model"
    parameter_name = "disagrees"

    def lookups(self, request, model_admin):
        return [("yes", "yes"), ("no", "no")]

    def queryset(self, request, queryset):
        disagrees = Q(suggested_class__isnull=False) & ~Q(suggested_class=F("label_class"))
        if self.value() == "yes":
            return queryset.filter(disagrees)
        if self.value() == "no":
            return queryset.exclude(disagrees)
        return queryset


def _settle(modeladmin, request, targets, *, class_of, pseudo: bool) -> None:
    """One verdict per transaction: the class `class_of(target)` for every selected target."""
    by_transaction = defaultdict(list)
    for target in targets:
        by_transaction[target.transaction_id].append(target)
    settled, refused = 0, []
    for transaction_id, group in by_transaction.items():
        classes = {class_of(target) for target in group}
        if len(classes) != 1:
            refused.append(f"transaction {transaction_id}: the selected rows disagree")
            continue
        try:
            with transaction.atomic():
                transaction_review(
                    reviewer=request.user,
                    transaction_id=transaction_id,
                    label_class=classes.pop(),
                    pseudo_label=group[0] if pseudo else None,
                )
            settled += 1
        except FraudloopError as error:
            refused.append(f"transaction {transaction_id}: {error}")
    if settled:
        modeladmin.message_user(request, f"{settled} transaction(s) settled.", messages.SUCCESS)
    for message in refused:
        modeladmin.message_user(request, message, messages.WARNING)


class ReviewActionsMixin:
    """'agree' and one 'overrule to <class>' action per label class, for reviewers only."""

    pseudo = False

    def has_review_permission(self, request):
        return request.user.has_perm(REVIEW_PERMISSION)

    def get_actions(self, request):
        actions = super().get_actions(request)  # drops actions the user lacks permission for
        if not self.has_review_permission(request):
            return actions
        for label_class in LabelClass.objects.order_by("position"):
            name = f"overrule_to_{label_class.name}"
            actions[name] = (
                self._overrule_action(label_class),
                name,
                f"Overrule to {label_class.display_name}",
            )
        return actions

    def _overrule_action(self, label_class):
        def overrule(modeladmin, request, queryset):
            _settle(
                modeladmin, request, queryset, class_of=lambda _: label_class, pseudo=self.pseudo
            )

        return overrule

    @admin.action(description="Agree with the selected", permissions=["review"])
    def agree(self, request, queryset):
        _settle(
            self,
            request,
            queryset.select_related("label_class"),
            class_of=lambda target: target.label_class,
            pseudo=self.pseudo,
        )


@admin.register(Label)
class LabelAdmin(ReviewActionsMixin, ReadOnlyAdmin):
    list_display = [
        "id",
        "transaction",
        "label_class",
        "decision",
        "annotator",
        "suggested_class",
        "suggested_probability",
        "suggested_by",
        "disagrees_with_model",
        "queue_reason",
        "audit_inclusion_probability",
        "status",
        "created_at",
    ]
    list_filter = [
        "label_class",
        "annotator",
        "decision",
        "status",
        ("suggested_by", admin.RelatedOnlyFieldListFilter),
        DisagreesWithModel,
        "queue_reason",
    ]
    search_fields = ["transaction__external_id", "annotator__username"]
    list_select_related = ["transaction", "label_class", "annotator", "suggested_class"]
    date_hierarchy = "created_at"
    actions = ["agree", "send_back"]

    @admin.display(description="disagrees", boolean=True)
    def disagrees_with_model(self, obj):
        if obj.suggested_class_id is None:
            return None
        return obj.suggested_class_id != obj.label_class_id

    @admin.action(description="Send back to the queue for a second opinion", permissions=["review"])
    def send_back(self, request, queryset):
        sent, refused = 0, []
        for label in queryset.select_related("transaction"):
            try:
                label_send_back(reviewer=request.user, label=label)
                sent += 1
            except FraudloopError as error:
                refused.append(str(error))
        if sent:
            self.message_user(
                request, f"{sent} label(s) sent back for a second opinion.", messages.SUCCESS
            )
        for message in refused:
            self.message_user(request, message, messages.WARNING)


@admin.register(PseudoLabel)
class PseudoLabelAdmin(ReviewActionsMixin, ReadOnlyAdmin):
    pseudo = True
    list_display = [
        "id",
        "transaction",
        "label_class",
        "probability",
        "weight",
        "model_version",
        "created_at",
    ]
    list_filter = ["label_class", "model_version"]
    search_fields = ["transaction__external_id"]
    list_select_related = ["transaction", "label_class", "model_version"]
    date_hierarchy = "created_at"
    actions = ["agree"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "transaction",
        "verdict",
        "label",
        "pseudo_label",
        "new_class",
        "reviewer",
        "status",
        "created_at",
    ]
    list_filter = ["verdict", "status", "new_class", "reviewer", "pseudo_label__model_version"]
    search_fields = ["transaction__external_id", "reviewer__username", "note"]
    list_select_related = ["transaction", "new_class", "reviewer"]
    date_hierarchy = "created_at"


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = [
        "transaction",
        "reason",
        "leased_to",
        "lease_expires_at",
        "created_at",
        "resolved_at",
        "resolved_by",
        "resolved_class",
    ]
    list_filter = [
        "reason",
        ("resolved_at", admin.EmptyFieldListFilter),
        "resolved_by",
        "pseudo_label__model_version",
    ]
    search_fields = ["transaction__external_id"]
    list_select_related = ["transaction", "leased_to", "resolved_by", "resolved_class"]
    date_hierarchy = "created_at"


@admin.register(ReviewPolicy)
class ReviewPolicyAdmin(admin.ModelAdmin):
    """Which items need a reviewer; saving it applies the rules to the labels written so far."""

    list_display = [
        "__str__",
        "confident_threshold",
        "four_eyes_for_fraud",
        "spot_checks_per_class",
    ]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not ReviewPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        opened = review_items_refresh(policy=obj)
        summary = ", ".join(f"{reason}: {count}" for reason, count in opened.items() if count)
        if summary:
            self.message_user(request, f"Review items updated ({summary}).", messages.INFO)
