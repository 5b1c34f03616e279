"""Datasets, transactions (filtered, cursor-paginated) and the annotation queue's next item."""

from __future__ import annotations

import django_filters
from django.db.models import Count, Exists, OuterRef
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labeler.api.pagination import IdCursorPagination
from labeler.api.permissions import CanAnnotate
from labeler.models import Dataset, Label, QueueEntry, Transaction
from labeler.services.labeling import queue_next_item


class DatasetOutput(serializers.ModelSerializer):
    transaction_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Dataset
        fields = ["id", "name", "feature_names", "transaction_count", "created_at"]


class DatasetList(generics.ListAPIView):
    """The datasets with their feature names and sizes."""

    permission_classes = [CanAnnotate]
    serializer_class = DatasetOutput
    pagination_class = None
    queryset = Dataset.objects.annotate(transaction_count=Count("transactions")).order_by("name")


class TransactionOutput(serializers.ModelSerializer):
    dataset = serializers.SlugRelatedField(slug_field="name", read_only=True)
    suggested_class = serializers.SlugRelatedField(slug_field="name", read_only=True)
    features = serializers.SerializerMethodField()

    class Meta:
        model = Transaction
        fields = [
            "id",
            "external_id",
            "dataset",
            "time",
            "amount",
            "features",
            "score",
            "uncertainty",
            "suggested_class",
            "scored_by",
            "imported_at",
        ]

    def get_features(self, obj) -> list[float]:
        return [round(float(value), 6) for value in obj.feature_vector]


def _standing_labels():
    return Label.objects.filter(
        transaction=OuterRef("pk"), status__in=[Label.Status.ACTIVE, Label.Status.OVERRULED]
    )


class TransactionFilter(django_filters.FilterSet):
    dataset = django_filters.CharFilter(field_name="dataset__name", help_text="dataset name")
    suggested_class = django_filters.CharFilter(
        field_name="suggested_class__name", help_text="class name, e.g. fraud"
    )
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte")
    labeled = django_filters.BooleanFilter(
        method="filter_labeled", help_text="has a standing human label"
    )
    queued = django_filters.BooleanFilter(
        method="filter_queued", help_text="waits in the annotation queue"
    )

    class Meta:
        model = Transaction
        fields = ["dataset", "suggested_class", "score_min", "score_max", "labeled", "queued"]

    def filter_labeled(self, queryset, name, value):
        labeled = Exists(_standing_labels())
        return queryset.filter(labeled if value else ~labeled)

    def filter_queued(self, queryset, name, value):
        queued = Exists(QueueEntry.objects.filter(transaction=OuterRef("pk")))
        return queryset.filter(queued if value else ~queued)


class TransactionList(generics.ListAPIView):
    """Transactions in id order, a cursor page at a time."""

    permission_classes = [CanAnnotate]
    serializer_class = TransactionOutput
    pagination_class = IdCursorPagination
    filterset_class = TransactionFilter
    queryset = Transaction.objects.select_related("dataset", "suggested_class")


class TransactionDetail(generics.RetrieveAPIView):
    permission_classes = [CanAnnotate]
    serializer_class = TransactionOutput
    queryset = Transaction.objects.select_related("dataset", "suggested_class")


class QueueItemOutput(serializers.Serializer):
    transaction = TransactionOutput(source="transaction_row")
    reason = serializers.CharField()
    priority = serializers.FloatField()
    model_version = serializers.IntegerField(allow_null=True)
    suggested_class = serializers.CharField(allow_null=True)
    suggested_probability = serializers.FloatField(allow_null=True)
    lease_expires_at = serializers.DateTimeField()


class QueueNext(APIView):
    """Leases the caller's next item of the annotation queue (the one they hold, else the most
    useful free one). 204 when the queue has nothing for them."""

    permission_classes = [CanAnnotate]

    @extend_schema(request=None, responses={200: QueueItemOutput, 204: None})
    def post(self, request):
        entry = queue_next_item(user=request.user)
        if entry is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        suggested = entry.suggested_class  # from memory (queue_next_item)
        data = {
            "transaction_row": entry.transaction,
            "reason": entry.reason,
            "priority": entry.priority,
            "model_version": entry.model_version_id,
            "suggested_class": suggested.name if suggested else None,
            "suggested_probability": entry.probability_of(suggested),
            "lease_expires_at": entry.lease_expires_at,
        }
        return Response(QueueItemOutput(data).data)
