"""Model versions with their metrics, and training: start a run, follow its progress."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labeler import selectors
from labeler.api.permissions import CanAnnotate, IsStaff
from labeler.models import Dataset, ModelVersion
from labeler.services.training_runs import training_request


class ModelVersionOutput(serializers.ModelSerializer):
    dataset = serializers.SlugRelatedField(slug_field="name", read_only=True)

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
