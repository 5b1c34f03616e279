"""Synthetic copies of a dataset: request one (staff), follow its progress, read its report,
download the file and the report."""

from __future__ import annotations

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labeler.api.permissions import IsStaff
from labeler.models import Dataset, SynthesisRun
from labeler.services.synthesis import (
    MAX_ROWS,
    MAX_SEED,
    SynthesisRejected,
    synthesis_download_path,
    synthesis_request,
)


class SynthesisRunOutput(serializers.ModelSerializer):
    dataset = serializers.SlugRelatedField(slug_field="name", read_only=True)
    report = serializers.JSONField(
        read_only=True,
        help_text="fidelity, utility and privacy figures with their thresholds and verdicts",
    )

    class Meta:
        model = SynthesisRun
        fields = [
            "id",
            "dataset",
            "status",
            "stage",
            "progress",
            "rows",
            "fraud_share",
            "generator",
            "chosen_generator",
            "epochs",
            "output_format",
            "seed",
            "reused_from",
            "report",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


class DatasetNameField(serializers.SlugRelatedField):
    """A dataset by name; a name with a NUL byte (which PostgreSQL refuses in text, a
    DataError) is an unknown one: a clear 400."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class SynthesisRunInput(serializers.Serializer):
    dataset = DatasetNameField(slug_field="name", queryset=Dataset.objects.all())
    rows = serializers.IntegerField(min_value=1, max_value=MAX_ROWS)
    fraud_share = serializers.FloatField(min_value=0.0, max_value=1.0)
    generator = serializers.ChoiceField(SynthesisRun.Generator.values, default="auto")
    output_format = serializers.ChoiceField(SynthesisRun.Format.values, default="csv")
    epochs = serializers.IntegerField(min_value=1, max_value=1000, default=30)
    seed = serializers.IntegerField(min_value=0, max_value=MAX_SEED, default=0)


class SynthesisRunListCreate(generics.ListAPIView):
    """GET: every synthesis run, newest first. POST: request a synthetic copy of a dataset; a
    worker trains (or reuses) the generator and writes the file and its report."""

    permission_classes = [IsStaff]
    serializer_class = SynthesisRunOutput
    queryset = SynthesisRun.objects.select_related("dataset")
    filterset_fields = ["status"]

    @extend_schema(request=SynthesisRunInput, responses={202: SynthesisRunOutput})
    def post(self, request):
        given = SynthesisRunInput(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            run = synthesis_request(**given.validated_data, requested_by=request.user)
        except SynthesisRejected as rejected:
            return Response({"detail": str(rejected)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(SynthesisRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class SynthesisRunDetail(generics.RetrieveAPIView):
    permission_classes = [IsStaff]
    serializer_class = SynthesisRunOutput
    queryset = SynthesisRun.objects.select_related("dataset")


class SynthesisRunFile(APIView):
    """The run's synthetic file (in the dataset's import layout), or with ?part=report its
    report as JSON."""

    permission_classes = [IsStaff]

    @extend_schema(
        parameters=[OpenApiParameter("part", str, enum=["file", "report"], default="file")],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request, pk: int):
        run = get_object_or_404(SynthesisRun.objects.select_related("dataset"), pk=pk)
        part = request.query_params.get("part", "file")
        try:
            path = synthesis_download_path(run, part)
        except SynthesisRejected as rejected:
            return Response({"detail": str(rejected)}, status=status.HTTP_400_BAD_REQUEST)
        if path is None:
            return Response(
                {"detail": f"synthesis run {run.pk} has no {part} ({run.status})"},
                status=status.HTTP_404_NOT_FOUND,
            )
        return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
