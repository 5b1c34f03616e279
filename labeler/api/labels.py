"""Human labels and reviews: list them, write them once per idempotency key."""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from labeler.api.idempotency import PARAMETER, idempotent
from labeler.api.pagination import IdCursorPagination
from labeler.api.permissions import CanAnnotate, CanReview
from labeler.errors import FraudloopError
from labeler.models import Label, LabelClass, Review, Transaction
from labeler.services.labeling import LeaseHeld, TransactionMissing, label_submit
from labeler.services.review import review_record


class RefusalOutput(serializers.Serializer):
    detail = serializers.CharField()
    leased_to = serializers.CharField(
        required=False, help_text="when the item is leased to another annotator: who"
    )
    lease_expires_at = serializers.DateTimeField(required=False, help_text="and until when")


def refusal_response(refused: FraudloopError) -> Response:
    """409 with why; for a lease another annotator holds, who and until when."""
    body = {"detail": str(refused)}
    if isinstance(refused, LeaseHeld):
        body.update(leased_to=refused.holder, lease_expires_at=refused.until)
    return Response(RefusalOutput(body).data, status=status.HTTP_409_CONFLICT)


class LabelOutput(serializers.ModelSerializer):
    transaction = serializers.PrimaryKeyRelatedField(read_only=True)
    external_id = serializers.CharField(source="transaction.external_id", read_only=True)
    label_class = serializers.SlugRelatedField(slug_field="name", read_only=True)
    annotator = serializers.SlugRelatedField(slug_field="username", read_only=True)
    suggested_class = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Label
        fields = [
            "id",
            "transaction",
            "external_id",
            "label_class",
            "decision",
            "status",
            "annotator",
            "suggested_class",
            "suggested_probability",
            "suggested_by",
            "queue_reason",
            "audit_inclusion_probability",
            "time_taken_ms",
            "supersedes",
            "created_at",
        ]


class ClassNameField(serializers.SlugRelatedField):
    """A label class by name, from the classes every answer reads from memory
    (`LabelClass.ordered`), so no query per label; an unknown name (a NUL byte included, which
    PostgreSQL refuses in text) is a clear 400."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        found = next((c for c in LabelClass.ordered() if c.name == data), None)
        if found is None:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return found


class TransactionClassInput(serializers.Serializer):
    """A transaction and a class for it: what a label and a verdict both name."""

    transaction = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    label_class = ClassNameField(
        slug_field="name", queryset=LabelClass.objects.all(), help_text="class name, e.g. fraud"
    )


def unknown_transaction(transaction_id: int) -> str:
    return f"no transaction has id {transaction_id}"


class LabelInput(TransactionClassInput):
    """A label: whether the transaction exists is found by the write itself, which reads it
    anyway (one query fewer per answer)."""

    time_taken_ms = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2**31 - 1
    )


class UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, taken to UTC: every database accepts it (PostgreSQL refuses
    offsets beyond 16 hours), and one that UTC cannot hold is a clear 400."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None or timezone.is_naive(moment):
            return moment
        try:
            return moment.astimezone(datetime.UTC)
        except OverflowError as error:
            raise forms.ValidationError("that date-time is out of range in UTC") from error


class SinceFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class LabelFilter(django_filters.FilterSet):
    dataset = django_filters.CharFilter(field_name="transaction__dataset__name")
    annotator = django_filters.CharFilter(field_name="annotator__username")
    label_class = django_filters.CharFilter(field_name="label_class__name")
    created_after = SinceFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Label
        fields = ["dataset", "annotator", "label_class", "status", "decision", "created_after"]


class LabelListCreate(generics.ListAPIView):
    """Human labels in id order (annotators see their own; reviewers everyone's), and a new
    label: one per Idempotency-Key."""

    permission_classes = [CanAnnotate]
    serializer_class = LabelOutput
    pagination_class = IdCursorPagination
    filterset_class = LabelFilter

    def get_queryset(self):
        labels = Label.objects.filter(annotator__isnull=False).select_related(
            "transaction", "label_class", "annotator", "suggested_class"
        )
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return labels.none()
        if not self.request.user.has_perm("labeler.review"):
            labels = labels.filter(annotator=self.request.user)
        return labels

    @extend_schema(
        request=LabelInput,
        parameters=[PARAMETER],
        responses={201: LabelOutput, 200: LabelOutput, 409: RefusalOutput},
    )
    def post(self, request):
        """201 with the new label; 200 with the label a repeat of the same request recorded;
        409 when the label cannot be recorded: another annotator answered the item first or
        holds its lease (`leased_to`, `lease_expires_at` say who and until when), you answered
        it already (undo it on the page), or it is in no queue (annotators label what
        `GET /api/v1/queue/next/` serves them; reviewers and staff may label any transaction,
        recorded with the queue reason `direct`)."""
        data = LabelInput(data=request.data)
        data.is_valid(raise_exception=True)

        def write() -> Response:
            try:
                outcome = label_submit(
                    user=request.user,
                    transaction_id=data.validated_data["transaction"],
                    label_class=data.validated_data["label_class"],
                    request_token=request.headers["Idempotency-Key"].strip(),
                    time_taken_ms=data.validated_data.get("time_taken_ms"),
                )
            except TransactionMissing as missing:  # a 400 as for any bad field; no key kept
                raise serializers.ValidationError(
                    {"transaction": [unknown_transaction(missing.transaction_id)]}
                ) from None
            except FraudloopError as refused:
                return refusal_response(refused)
            return Response(
                LabelOutput(outcome.label).data,
                status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
            )

        return idempotent(request, write)


class ReviewOutput(serializers.ModelSerializer):
    reviewer = serializers.SlugRelatedField(slug_field="username", read_only=True)
    new_class = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "transaction",
            "label",
            "pseudo_label",
            "verdict",
            "new_class",
            "reviewer",
            "status",
            "note",
            "review_item",
            "created_at",
        ]


class ReviewInput(TransactionClassInput):
    def validate_transaction(self, value):
        if not Transaction.objects.filter(pk=value).exists():
            raise serializers.ValidationError(unknown_transaction(value))
        return value

    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class IdFilter(django_filters.NumberFilter):
    """An id: a whole number a 64-bit column can hold."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=2**63 - 1, **kwargs)


class ReviewFilter(django_filters.FilterSet):
    transaction = IdFilter(field_name="transaction_id")
    dataset = django_filters.CharFilter(field_name="transaction__dataset__name")
    reviewer = django_filters.CharFilter(field_name="reviewer__username")
    created_after = SinceFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Review
        fields = ["dataset", "reviewer", "verdict", "status", "transaction", "created_after"]


class ReviewListCreate(generics.ListAPIView):
    """Reviews in id order, and a verdict: the transaction's class, which every human label
    on it (and the pseudo-label under a spot check) is judged against."""

    permission_classes = [CanReview]
    serializer_class = ReviewOutput
    pagination_class = IdCursorPagination
    filterset_class = ReviewFilter
    queryset = Review.objects.select_related("reviewer", "new_class")

    @extend_schema(
        request=ReviewInput,
        parameters=[PARAMETER],
        responses={201: ReviewOutput(many=True), 409: RefusalOutput},
    )
    def post(self, request):
        data = ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)

        def write() -> Response:
            try:
                outcome = review_record(
                    reviewer=request.user,
                    transaction_id=data.validated_data["transaction"],
                    label_class=data.validated_data["label_class"],
                    request_token=request.headers["Idempotency-Key"].strip(),
                    note=data.validated_data["note"],
                )
            except FraudloopError as refused:
                return Response({"detail": str(refused)}, status=status.HTTP_409_CONFLICT)
            return Response(
                ReviewOutput(outcome.reviews, many=True).data, status=status.HTTP_201_CREATED
            )

        return idempotent(request, write)
