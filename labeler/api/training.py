"""Model versions with their metrics, and training: start a run, follow its progress."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labeler import selectors
from labeler.api.permissions import CanAnnotate, IsStaff
from labeler.models import Dataset, ModelVersion
from labeler.services.training_runs import training_request


class EstimateOutput(serializers.Serializer):
    value = serializers.FloatField()
    low = serializers.FloatField(help_text="lower end of the interval (see `level`)")
    high = serializers.FloatField(help_text="upper end of the interval")


class QualityOutput(serializers.Serializer):
    """The version's figures on transactions it has not seen, estimated from the audit's labels
    alone (importance-weighted, with bootstrap intervals), or what is missing for them."""

    labels = serializers.IntegerField(help_text="audit labels behind the figures")
    frauds = serializers.IntegerField(help_text="frauds among them")
    frame_rows = serializers.IntegerField(help_text="transactions in the audit frame")
    population = serializers.IntegerField(required=False, help_text="transactions in the dataset")
    pending = serializers.IntegerField(required=False, help_text="drawn, not answered yet")
    level = serializers.FloatField(required=False, help_text="of the intervals, e.g. 0.9")
    average_precision = EstimateOutput(required=False)
    precision_at_top = EstimateOutput(
        required=False, help_text="fraud share among the top `top_share` of scores"
    )
    top_share = serializers.FloatField(required=False)
    top_count = serializers.IntegerField(required=False, help_text="transactions in that top")
    recall_at_budget = EstimateOutput(
        required=False, help_text="share of all frauds within the top `budget_share` of scores"
    )
    budget_share = serializers.FloatField(required=False)
    budget_count = serializers.IntegerField(required=False)
    frauds_total = EstimateOutput(required=False, help_text="frauds in the dataset")
    frauds_missed = EstimateOutput(
        required=False, help_text="frauds in the dataset that no person has labeled"
    )
    needed_labels = serializers.IntegerField(
        required=False, help_text="when too few: about how many more audit labels it needs"
    )
    needed_frauds = serializers.IntegerField(required=False)
    waiting_for = serializers.CharField(
        required=False, help_text="when nothing can be measured yet (cold start)"
    )


class ModelVersionOutput(serializers.ModelSerializer):
    dataset = serializers.SlugRelatedField(slug_field="name", read_only=True)
    quality = serializers.SerializerMethodField(
        help_text="the audit estimate (null for versions from before the audit)"
    )

    @extend_schema_field(QualityOutput(allow_null=True))
    def get_quality(self, version: ModelVersion) -> dict | None:
        return (version.metrics or {}).get("quality")

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "dataset",
            "kind",
            "status",
            "trigger",
            "stage",
            "progress",
            "device",
            "quality",
            "hyperparameters",
            "training_counts",
            "metrics",
            "durations",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "activated_at",
        ]


class ModelVersionList(generics.ListAPIView):
    """Every model version, newest first, with its metrics and training-set counts."""

    permission_classes = [CanAnnotate]
    serializer_class = ModelVersionOutput
    queryset = ModelVersion.objects.select_related("dataset").order_by("-id")
    filterset_fields = ["status", "kind"]


class ModelVersionDetail(generics.RetrieveAPIView):
    permission_classes = [CanAnnotate]
    serializer_class = ModelVersionOutput
    queryset = ModelVersion.objects.select_related("dataset")


class RunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    stage = serializers.CharField()
    progress = serializers.IntegerField(help_text="percent")
    worker = serializers.CharField()


class TrainingOutput(serializers.Serializer):
    dataset = serializers.CharField()
    active = ModelVersionOutput(allow_null=True)
    run = RunOutput(allow_null=True, help_text="the run queued or training now")
    last_failed = ModelVersionOutput(allow_null=True)
    new_labels = serializers.IntegerField(help_text="human labels since the active version")
    queued_items = serializers.IntegerField(help_text="items waiting for annotators")


class TrainingStartOutput(serializers.Serializer):
    version = serializers.IntegerField()
    created = serializers.BooleanField(help_text="false: the request joined a run already queued")


def _overview(dataset: Dataset) -> dict:
    overview = selectors.training_overview(dataset=dataset)
    return TrainingOutput(
        {
            "dataset": dataset.name,
            "active": overview.active,
            "run": overview.run,
            "last_failed": overview.last_failed,
            "new_labels": overview.new_labels,
            "queued_items": overview.queued_items,
        }
    ).data


class Training(APIView):
    """A dataset's training: GET its progress (the active version, the run queued or training
    with its stage and percent); POST to start a run (staff; single flight: a request while
    one is queued joins it)."""

    def get_permissions(self):
        return [IsStaff()] if self.request.method == "POST" else [CanAnnotate()]

    @extend_schema(responses=TrainingOutput)
    def get(self, request, dataset_id: int):
        return Response(_overview(get_object_or_404(Dataset, pk=dataset_id)))

    @extend_schema(request=None, responses={202: TrainingStartOutput})
    def post(self, request, dataset_id: int):
        dataset = get_object_or_404(Dataset, pk=dataset_id)
        outcome = training_request(
            dataset=dataset, trigger=ModelVersion.Trigger.API, requested_by=request.user
        )
        return Response(
            {"version": outcome.version.pk, "created": outcome.created},
            status=status.HTTP_202_ACCEPTED,
        )
