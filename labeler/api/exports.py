"""Label exports over the API: CSV and JSON Lines streamed, Parquet from a temporary file."""

from __future__ import annotations

import tempfile

from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from labeler.api.permissions import CanReview
from labeler.services.exporting import (
    FORMATS,
    ExportRefused,
    export_csv,
    export_filename,
    export_jsonl,
    export_parquet,
    export_request_check,
)


class LabelExport(APIView):
    """Every transaction of a dataset (or only those with a label, pseudo-label or review) with
    its human labels, the reviewer's verdict and the pseudo-label in separate columns."""

    permission_classes = [CanReview]

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(FORMATS), default="csv"),
            OpenApiParameter("dataset", str, description="dataset name (default: the first)"),
            OpenApiParameter("labeled_only", bool, default=False),
        ],
        responses={(200, mime): OpenApiTypes.BINARY for mime in FORMATS.values()},
    )
    def get(self, request):
        format = request.query_params.get("format", "csv")
        try:
            export = export_request_check(
                dataset_name=request.query_params.get("dataset"),
                format=format,
                labeled_only=request.query_params.get("labeled_only", "").lower()
                in {"1", "true", "yes"},
            )
        except ExportRefused as refused:
            return Response({"detail": str(refused)}, status=status.HTTP_400_BAD_REQUEST)
        filename = export_filename(export, format)
        if format == "parquet":
            # On disk, not in memory; FileResponse closes it, and closing removes it.
            spool = tempfile.TemporaryFile()  # noqa: SIM115
            export_parquet(export, spool)
            spool.seek(0)
            return FileResponse(
                spool, as_attachment=True, filename=filename, content_type=FORMATS[format]
            )
        rows = export_csv(export) if format == "csv" else export_jsonl(export)
        response = StreamingHttpResponse(rows, content_type=FORMATS[format])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
