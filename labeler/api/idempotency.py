"""Idempotency keys for the API's writes: the header `Idempotency-Key` names one write; a retry
with the same key gets the first response again and writes nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import lru_cache, partial

from django.db import connection, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from labeler.models import IdempotencyKey
from labeler.services.sql_names import quoted_column, quoted_table
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
        record, created = _key_claim(request.user, key, fingerprint)
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


def _key_claim(user, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """The key's record, locked, and whether this request wrote it: one INSERT ... ON CONFLICT
    DO NOTHING on the usual path (a new key), instead of a read, a savepoint, an insert and its
    release; a key seen before is then read under a row lock (a retry racing the first request
    waits for its response)."""
    now = timezone.now()
    moment = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_claim_statement(connection.vendor), [user.pk, key, fingerprint, moment])
        inserted = cursor.fetchone()
    if inserted is not None:
        record = IdempotencyKey(
            pk=inserted[0], user=user, key=key, fingerprint=fingerprint, created_at=now
        )
        return record, True
    return IdempotencyKey.objects.select_for_update().get(user=user, key=key), False


@lru_cache(maxsize=4)
def _claim_statement(vendor: str) -> str:
    column = partial(quoted_column, IdempotencyKey)
    names = ", ".join(column(name) for name in ("user", "key", "fingerprint", "created_at"))
    return (
        f"INSERT INTO {quoted_table(IdempotencyKey)} ({names}) VALUES (%s, %s, %s, %s) "
        f"ON CONFLICT ({column('user')}, {column('key')}) DO NOTHING RETURNING {column('id')}"
    )
