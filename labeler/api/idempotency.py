"""Idempotency keys for the API's writes: the header `Idempotency-Key` names one write; a retry
with the same key gets the first response again and writes nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from labeler.models import IdempotencyKey
from labeler.services.tokens import TOKEN_RULE, token_valid

HEADER = "Idempotency-Key"
PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="A key of your choice (1 to 64 printable ASCII characters) for this write: "
    "a retry with the same key returns the first response and writes nothing.",
)


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(request, handler: Callable[[], Response]) -> Response:
    """Runs `handler` once per (user, key); the key and the response are stored in the same
    database transaction as the write, so a crash leaves neither."""
    key = request.headers.get(HEADER, "").strip()
    if not token_valid(key):
        raise ValidationError({HEADER: f"send an {HEADER} header of {TOKEN_RULE}"})
    fingerprint = _fingerprint(request)
    with transaction.atomic():
        record, created = IdempotencyKey.objects.select_for_update().get_or_create(
            user=request.user, key=key, defaults={"fingerprint": fingerprint}
        )
        if not created:
            if record.fingerprint != fingerprint:
                return Response(
                    {"detail": f"this {HEADER} was used for another request; use a new key"},
                    status=status.HTTP_422_UNPROCESSABLE_ENTITY,
                )
            if record.response_status is not None:
                return Response(
                    record.response_body,
                    status=record.response_status,
                    headers={"Idempotent-Replayed": "true"},
                )
        response = handler()
        record.response_status = response.status_code
        record.response_body = json.loads(json.dumps(response.data, default=str))
        record.save(update_fields=["response_status", "response_body"])
    return response
