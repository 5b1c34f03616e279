"""A case through the API: the item the caller holds and transactions of its card, labeled as
one class in one request (services/case_labeling.py), once per Idempotency-Key."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labeler.api.idempotency import PARAMETER, idempotent
from labeler.api.labels import LabelInput, LabelOutput, RefusalOutput, refusal_response
from labeler.api.permissions import CanAnnotate
from labeler.errors import FraudloopError
from labeler.services.case_labeling import MAX_CASE, case_submit


class CaseInput(LabelInput):
    case = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        max_length=MAX_CASE,
        help_text="the card's other transactions to label with the held item",
    )


class LeftOut(serializers.Serializer):
    external_id = serializers.CharField()
    reason = serializers.CharField()


class CaseOutput(serializers.Serializer):
    case_id = serializers.UUIDField()
    labels = LabelOutput(many=True, help_text="the held item's label first")
    left_out = LeftOut(many=True, help_text="transactions another annotator holds or answered")


class CaseCreate(APIView):
    permission_classes = [CanAnnotate]

    @extend_schema(
        request=CaseInput,
        parameters=[PARAMETER],
        responses={201: CaseOutput, 200: CaseOutput, 409: RefusalOutput},
    )
    def post(self, request):
        """201 with the case's labels (each recorded individually, with a shared case id)
        and what was left out; 200 with the labels a repeat of the same request recorded;
        409 when the held item cannot be labeled (the same rules as POST /api/v1/labels/) or
        a transaction is not of its card: then nothing is recorded."""
        data = CaseInput(data=request.data)
        data.is_valid(raise_exception=True)

        def write() -> Response:
            try:
                outcome = case_submit(
                    user=request.user,
                    transaction_id=data.validated_data["transaction"],
                    case_ids=data.validated_data["case"],
                    label_class=data.validated_data["label_class"],
                    request_token=request.headers["Idempotency-Key"].strip(),
                    time_taken_ms=data.validated_data.get("time_taken_ms"),
                )
            except FraudloopError as refused:
                return refusal_response(refused)
            body = {
                "case_id": outcome.case_id,
                "labels": outcome.labels,
                "left_out": [{"external_id": e, "reason": r} for e, r in outcome.left_out],
            }
            return Response(
                CaseOutput(body).data,
                status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
            )

        return idempotent(request, write)
