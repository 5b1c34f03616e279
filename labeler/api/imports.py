"""Imports over the API: one CSV file in, the batch or the error that names row and column."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from labeler.api.labels import RefusalOutput
from labeler.api.permissions import IsStaff
from labeler.errors import ImportRejected
from labeler.forms import column_choice
from labeler.models import ImportBatch
from labeler.services.importing import transactions_import
from labeler.services.label_import import labels_import
from labeler.uploads import upload_path


class ImportBatchOutput(serializers.ModelSerializer):
    dataset = serializers.SlugRelatedField(slug_field="name", read_only=True)
    imported_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "dataset",
            "file_name",
            "checksum",
            "row_count",
            "label_mode",
            "label_count",
            "feature_names",
            "column_mapping",
            "imported_by",
            "duration_seconds",
            "created_at",
        ]


class ImportInput(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True, help_text="CSV, plain or .gz, UTF-8, with a header row"
    )
    dataset = serializers.SlugField(max_length=64, default="default")
    label_mode = serializers.ChoiceField(
        choices=ImportBatch.LabelMode.choices, default=ImportBatch.LabelMode.IGNORE
    )
    id_column = serializers.CharField(required=False, allow_blank=True, max_length=200)
    time_column = serializers.CharField(required=False, allow_blank=True, max_length=200)
    amount_column = serializers.CharField(required=False, allow_blank=True, max_length=200)
    label_column = serializers.CharField(required=False, allow_blank=True, max_length=200)
    feature_columns = serializers.CharField(
        required=False, allow_blank=True, max_length=10_000, help_text="comma-separated"
    )
    card_column = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="the card (or customer, account) column; empty: found by its usual names; "
        "'-': none",
    )
    merchant_column = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="the merchant (or terminal) column; empty: found; '-': none",
    )
    categorical_columns = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=10_000,
        help_text="comma-separated; encoded for the models, shown as text",
    )
    text_columns = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=10_000,
        help_text="comma-separated; shown to people only",
    )

    def validate_file(self, upload):
        if upload.size == 0:
            raise serializers.ValidationError(f"{upload.name}: the file is empty")
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            raise serializers.ValidationError(
                f"the file is {upload.size / 1e6:.0f} MB; the limit is "
                f"{settings.IMPORT_MAX_UPLOAD_BYTES / 1e6:.0f} MB (IMPORT_MAX_UPLOAD_BYTES)"
            )
        return upload


class ImportListCreate(generics.ListAPIView):
    """Import batches, newest first; POST a file to import it (all rows or none)."""

    permission_classes = [IsStaff]
    serializer_class = ImportBatchOutput
    queryset = ImportBatch.objects.select_related("dataset", "imported_by").order_by("-id")
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ImportInput},
        responses={201: ImportBatchOutput, 400: RefusalOutput},
    )
    def post(self, request):
        """201 with the batch; 400 with the reason (naming the row, its line and the column)
        when the file cannot be imported, and nothing written."""
        data = ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _imported(
            request,
            data.validated_data,
            lambda **common: transactions_import(
                label_mode=data.validated_data["label_mode"],
                columns=column_choice(data.validated_data),
                **common,
            ),
        )


def _imported(request, fields: dict, service) -> Response:
    """Runs an import service on the uploaded file: 201 with the batch, or 400 with the reason
    the service gave (nothing was written)."""
    upload = fields["file"]
    try:
        with upload_path(upload) as path:
            batch = service(
                path=path,
                dataset_name=fields["dataset"],
                file_name=upload.name,
                imported_by=request.user,
            )
    except ImportRejected as rejected:
        return Response({"detail": str(rejected)}, status=status.HTTP_400_BAD_REQUEST)
    return Response(ImportBatchOutput(batch).data, status=status.HTTP_201_CREATED)


class LabelFileInput(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text="CSV, plain or .gz: transaction_id, class and optionally known_at (ISO)",
    )
    dataset = serializers.SlugField(max_length=64)

    validate_file = ImportInput.validate_file


class LabelFileCreate(generics.GenericAPIView):
    """Delayed labels (chargebacks, confirmed cases) onto a dataset's transactions, as trusted
    labels with the date each became known: all rows or none."""

    permission_classes = [IsStaff]
    serializer_class = ImportBatchOutput
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": LabelFileInput},
        responses={201: ImportBatchOutput, 400: RefusalOutput},
    )
    def post(self, request):
        """201 with the batch (`label_count`: new labels); 400 naming the unknown ids or the
        row and column at fault, and nothing written."""
        data = LabelFileInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _imported(request, data.validated_data, labels_import)
