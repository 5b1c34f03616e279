"""What the annotator and review pages share: the session's start, skipped items, request
parsing and the label classes of a request."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpResponseBadRequest
from django.utils import timezone

from labeler.models import LabelClass


def session_since(request, key: str) -> datetime:
    """When this page's session began (stats and undo count from there)."""
    value = request.session.get(key)
    if value is None:
        now = timezone.now()
        request.session[key] = now.isoformat()
        return now
    return datetime.fromisoformat(value)


def session_skipped(request, key: str) -> tuple[int, ...]:
    return tuple(request.session.get(key, []))


def session_skip(request, key: str, transaction_id: int) -> None:
    request.session[key] = [*session_skipped(request, key), transaction_id][-500:]


def parse_int(value) -> int | None:
    """An integer a 64-bit column can hold, else None."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if -(2**63) <= number < 2**63 else None


def label_classes(request) -> list[LabelClass]:
    """The label classes, read once per request (and from memory on most requests)."""
    if not hasattr(request, "_label_classes"):
        request._label_classes = LabelClass.ordered()
    return request._label_classes


def class_for_answer(action: str, class_id: int | None, *, claim, classes) -> LabelClass | None:
    """The class an answer names: `class:<id>` or `reject:<id>` name it; `confirm` takes the
    claim (the suggestion, or the label under review); a plain `reject` takes the only other
    class. None when the answer does not settle on one class."""
    if action == "class" or (action == "reject" and class_id is not None):
        return next((c for c in classes if c.pk == class_id), None)
    if claim is None:
        return None  # nothing to confirm or reject (cold start)
    if action == "confirm":
        return claim
    others = [c for c in classes if c != claim]
    return others[0] if len(others) == 1 else None


ANSWER_ACTIONS = {"confirm", "reject", "class"}


def parse_answer(request) -> tuple[int, str, int | None] | HttpResponseBadRequest:
    """(transaction id, action, class id) of a posted answer, or the 400 that says what is
    missing."""
    transaction_id = parse_int(request.POST.get("transaction"))
    action, _, class_id = request.POST.get("action", "").partition(":")
    if transaction_id is None or action not in ANSWER_ACTIONS:
        return HttpResponseBadRequest(
            "transaction and action (confirm, reject, reject:<class id>, class:<class id>) required"
        )
    return transaction_id, action, parse_int(class_id)


def skip(request, *, release, session_key: str, after):
    """A skip: the lease goes back at once, the item stays out of this session's picks, and
    the response is the next item (`after`)."""
    transaction_id = parse_int(request.POST.get("transaction"))
    if transaction_id is None:
        return HttpResponseBadRequest("transaction required")
    release(user=request.user, transaction_id=transaction_id)
    session_skip(request, session_key, transaction_id)
    return after(request, showing=parse_int(request.POST.get("showing")))
