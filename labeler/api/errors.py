"""API errors as JSON: an outage of the database or the broker is a 503 a client can retry,
never an HTML error page."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from kombu.exceptions import OperationalError as BrokerError
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30


def outage_response(error: Exception) -> Response | None:
    if isinstance(error, DatabaseError):
        what = "the database"
    elif isinstance(error, BrokerError):
        what = "the task broker"
    else:
        return None
    logger.error("API request failed: %s is unavailable (%s)", what, type(error).__name__)
    return Response(
        {"detail": f"{what.capitalize()} is unavailable; try again shortly."},
        status=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def api_exception_handler(error, context):
    """DRF's own answers for its exceptions; 503 for an outage; anything else stays a 500
    (logged with its traceback by Django)."""
    return exception_handler(error, context) or outage_response(error)
