"""The address a request came from, as login throttling counts it."""

from django.conf import settings


def client_address(request) -> str:
    """REMOTE_ADDR; behind the TLS proxy, the address that proxy appended to X-Forwarded-For,
    the only entry a client cannot write itself."""
    address = request.META.get("REMOTE_ADDR", "")
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
        if entries:
            address = entries[-1]
    return address
