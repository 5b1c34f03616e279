"""Transactions as they arrive: a batch POSTed to a dataset, as a JSON array or a CSV body."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from labeler.api.labels import RefusalOutput
from labeler.errors import ImportRejected
from labeler.models import Dataset
from labeler.services.ingesting import BatchTooLarge, transactions_ingest

MEDIA_TYPES = {"application/json": "json", "text/csv": "csv"}


def _batch_call(request, service):
    """`service(body, kind)` on the request's body, read as sent within INGEST_MAX_BYTES; or the
    refusal as a Response: 415 for another body type, 413 past a limit, 400 naming the row."""
    media = (request.content_type or "").split(";")[0].strip().lower()
    if media not in MEDIA_TYPES:
        return Response(
            {"detail": f"send the batch as {' or '.join(MEDIA_TYPES)}, not {media!r}."},
            status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    limit = settings.INGEST_MAX_BYTES
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    body = request._request.read(limit + 1) if declared <= limit else b""
    try:
        if declared > limit or len(body) > limit:
            raise BatchTooLarge(
                f"the batch is more than {limit:,} bytes (INGEST_MAX_BYTES): split it."
            )
        return service(body, MEDIA_TYPES[media])
    except BatchTooLarge as refused:
        return Response({"detail": str(refused)}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    except ImportRejected as rejected:
        return Response({"detail": str(rejected)}, status=status.HTTP_400_BAD_REQUEST)


class CanIngest(BasePermission):
    message = "this needs a staff account or the ingest role"

    def has_permission(self, request, view):
        user = request.user
        return bool(user and (user.is_staff or user.has_perm("labeler.ingest")))


class IngestOutput(serializers.Serializer):
    received = serializers.IntegerField(help_text="rows in the batch")
    added = serializers.IntegerField(help_text="new transactions stored")
    already_present = serializers.IntegerField(
        help_text="rows the dataset held already with the same values (a retried batch)"
    )
    import_batch = serializers.IntegerField(
        allow_null=True, help_text="the import batch of the new rows; null when none was new"
    )
    scoring = serializers.CharField(help_text="what happens to the new rows next")


class IngestTransactions(APIView):
    """POST a batch of new transactions to a dataset, in the layout of its first file."""

    permission_classes = [CanIngest]
    parser_classes: list = []  # the body is read as sent, within INGEST_MAX_BYTES

    @extend_schema(
        request={"application/json": list[dict], "text/csv": str},
        responses={201: IngestOutput, 200: IngestOutput, 400: RefusalOutput, 413: RefusalOutput},
        examples=[
            OpenApiExample(
                "JSON",
                value=[{"id": "tx-1001", "Time": 7200, "Amount": 12.5, "V1": -1.2, "V2": 0.3}],
                request_only=True,
            )
        ],
    )
    def post(self, request, dataset_id: int):
        """201 with the counts when new rows were stored (all of the batch's new rows, scored
        next by the active version); 200 when every row was there already (a retry: nothing
        added); 400 naming the row (or item) and column at fault, nothing stored; 413 past
        INGEST_MAX_ROWS rows or INGEST_MAX_BYTES bytes; 415 for another body type."""
        dataset = get_object_or_404(Dataset, pk=dataset_id)
        outcome = _batch_call(
            request,
            lambda body, kind: transactions_ingest(
                dataset=dataset, body=body, kind=kind, submitted_by=request.user
            ),
        )
        if isinstance(outcome, Response):
            return outcome
        added = outcome.added > 0
        return Response(
            {
                "received": outcome.received,
                "added": outcome.added,
                "already_present": outcome.already_present,
                "import_batch": outcome.batch.pk if outcome.batch else None,
                "scoring": "queued: the active version scores the new rows and queues its "
                "likely frauds"
                if added
                else "nothing new: every row of this batch is in the dataset already",
            },
            status=status.HTTP_201_CREATED if added else status.HTTP_200_OK,
        )


class ReasonOutput(serializers.Serializer):
    name = serializers.CharField(help_text="the input, by its column (or a derived feature)")
    log_odds = serializers.FloatField(help_text="what it adds to the fraud log-odds")
    deviation = serializers.FloatField(
        help_text="its distance from typical, in IQRs (for the anomaly reason: its rank)"
    )
    anomaly = serializers.BooleanField(help_text="the anomaly detectors' reason, not an input")


class DecisionOutput(serializers.Serializer):
    id = serializers.CharField(allow_null=True, help_text="the row's id, if it carried one")
    fraud_probability = serializers.FloatField(allow_null=True)
    top_share = serializers.FloatField(
        allow_null=True, help_text="share of the version's scored rows scoring at least as high"
    )
    anomaly_rank = serializers.FloatField(
        allow_null=True, help_text="cold-start versions only: the anomaly detectors' rank"
    )
    suggested_class = serializers.CharField(allow_null=True)
    reasons = ReasonOutput(many=True)


class DecisionsOutput(serializers.Serializer):
    version = serializers.IntegerField()
    kind = serializers.CharField()
    decisions = DecisionOutput(many=True)


class ScoreTransactions(APIView):
    """POST transactions to have them scored by the active version, without storing them."""

    permission_classes = [CanIngest]
    parser_classes: list = []

    @extend_schema(
        request={"application/json": list[dict], "text/csv": str},
        responses={200: DecisionsOutput, 400: RefusalOutput, 409: RefusalOutput},
    )
    def post(self, request, dataset_id: int):
        """200 with one decision per row, in order: the fraud probability, its rank among the
        version's scores, the suggested class and the inputs that pushed the score most;
        nothing is stored. 409 before the dataset's first trained version; 400, 413 and 415 as
        for a batch of arrivals."""
        from labeler.services.decisions import NoActiveVersion, decisions_score

        dataset = get_object_or_404(Dataset, pk=dataset_id)
        try:
            decided = _batch_call(
                request,
                lambda body, kind: decisions_score(dataset=dataset, body=body, kind=kind),
            )
        except NoActiveVersion as missing:
            return Response({"detail": str(missing)}, status=status.HTTP_409_CONFLICT)
        if isinstance(decided, Response):
            return decided
        return Response(decided)
