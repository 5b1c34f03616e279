"""The annotator page: one item, the next one already loaded, answers by hotkey.

The browser shows the prefetched item the moment a key is pressed and posts the answer; the
response carries the item after that (into the hidden prefetch slot), the session figures and,
when the answer was refused, why. Without JavaScript the buttons post plain forms and the page
reloads.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from labeler.errors import FraudloopError
from labeler.models import Dataset, QueueEntry, Transaction
from labeler.pages.annotate import item_view, session_stats
from labeler.selectors import unlabeled_count
from labeler.services.case_labeling import case_submit
from labeler.services.labeling import (
    label_submit,
    label_undo,
    queue_lease_release,
    queue_next_item,
)
from labeler.views.workspace import (
    class_for_answer,
    label_classes,
    parse_answer,
    parse_int,
    session_since,
    session_skipped,
    skip,
)

SESSION_SINCE = "annotate_since"
SESSION_SKIPPED = "annotate_skipped"
annotator_required = permission_required("labeler.annotate", raise_exception=True)
TEMPLATES = {
    "item_template": "labeler/partials/annotate_item.html",
    "empty_template": "labeler/partials/annotate_empty.html",
    "stats_template": "labeler/partials/annotate_stats.html",
}


def _since(request) -> datetime:
    return session_since(request, SESSION_SINCE)


def _skipped(request) -> tuple[int, ...]:
    return session_skipped(request, SESSION_SKIPPED)


def _context(request, *, items, message: str = "", level: str = "notice") -> dict:
    shown = next((item for item in items if item is not None), None)
    dataset = shown.transaction.dataset if shown else Dataset.objects.order_by("pk").first()
    stats = session_stats(user=request.user, since=_since(request), dataset=dataset)
    return {
        **TEMPLATES,
        "items": items,
        "stats": stats,
        "message": message,
        "level": level,
        "classes": label_classes(request),
        "dataset": dataset,
    }


def _next(request, *, exclude: tuple[int, ...]):
    entry = queue_next_item(user=request.user, exclude=exclude + _skipped(request))
    return item_view(entry, label_classes(request))


@login_required
@annotator_required
@require_GET
def annotate(request):
    current = _next(request, exclude=())
    following = _next(request, exclude=(current.transaction.pk,)) if current else None
    context = _context(request, items=[current, following])
    context.update(current=current, following=following)
    return render(request, "labeler/annotate.html", context)


def _after_answer(request, *, showing: int | None, message: str = "", level: str = "notice"):
    """The response to an answer or a skip: the item after the one now shown."""
    if not request.htmx:
        return redirect("annotate")
    exclude = (showing,) if showing else ()
    following = _next(request, exclude=exclude)
    context = _context(request, items=[following], message=message, level=level)
    context["following"] = following
    return render(request, "labeler/partials/annotate_next.html", context)


@login_required
@annotator_required
@require_GET
def annotate_unlabeled(request, dataset_id: int):
    """The empty queue's figure, fetched by the card once it is shown, so that neither the answer
    that emptied the queue nor a reload of the page waits for a count over every transaction."""
    dataset = get_object_or_404(Dataset, pk=dataset_id)
    counted = unlabeled_count(dataset=dataset)
    return render(
        request,
        "labeler/partials/annotate_unlabeled.html",
        {"dataset": dataset, "counted": counted},
    )


@login_required
@annotator_required
@require_POST
def annotate_answer(request):
    answer = parse_answer(request)
    if isinstance(answer, HttpResponseBadRequest):
        return answer
    transaction_id, action, class_id = answer
    classes = label_classes(request)
    # "Confirm" confirms the suggestion the annotator saw, which the card sends back.
    suggested_id = parse_int(request.POST.get("suggested"))
    if "suggested" not in request.POST:  # a form without it: what the item is shown with
        row = get_object_or_404(
            Transaction.objects.select_related("queue_entry"), pk=transaction_id
        )
        entry = getattr(row, "queue_entry", None)
        suggested_id = (entry or row).suggested_class_id
    suggested = next((c for c in classes if c.pk == suggested_id), None)
    label_class = class_for_answer(action, class_id, claim=suggested, classes=classes)
    if label_class is None:
        return HttpResponseBadRequest("that answer needs a class: pick one with its digit")
    case = _case_ids(request.POST.get("case", ""))
    if case is None:
        return HttpResponseBadRequest("case: transaction ids separated by commas")
    message, level = "", "notice"
    try:
        if case:
            message, level = _case_answer(request, transaction_id, case, label_class)
        else:
            outcome = label_submit(
                user=request.user,
                transaction_id=transaction_id,
                label_class=label_class,
                request_token=request.POST.get("token", ""),
                time_taken_ms=parse_int(request.POST.get("elapsed_ms")),
            )
            if not outcome.created:
                external_id = outcome.label.transaction.external_id
                message = f"Already recorded: {external_id} = {label_class}."
    except FraudloopError as refused:
        message, level = str(refused), "warning"
    return _after_answer(
        request, showing=parse_int(request.POST.get("showing")), message=message, level=level
    )


def _case_ids(text: str) -> list[int] | None:
    """The case's other transactions as the page sends them ("12,13,20"); None when unreadable."""
    parts = [part for part in text.split(",") if part.strip()]
    ids = [parse_int(part) for part in parts]
    return None if any(pk is None for pk in ids) else ids


def _case_answer(request, transaction_id: int, case: list[int], label_class) -> tuple[str, str]:
    outcome = case_submit(
        user=request.user,
        transaction_id=transaction_id,
        case_ids=case,
        label_class=label_class,
        request_token=request.POST.get("token", ""),
        time_taken_ms=parse_int(request.POST.get("elapsed_ms")),
    )
    count = len(outcome.labels)
    message = (
        f"{'Labeled' if outcome.created else 'Already recorded:'} a case of {count} "
        f"transaction{'s' if count != 1 else ''} as {label_class} (u undoes all of it)."
    )
    if outcome.left_out:
        left = "; ".join(f"{external}: {why}" for external, why in outcome.left_out)
        return f"{message} Left out {len(outcome.left_out)}: {left}.", "warning"
    return message, "notice"


@login_required
@annotator_required
@require_POST
def annotate_skip(request):
    return skip(
        request, release=queue_lease_release, session_key=SESSION_SKIPPED, after=_after_answer
    )


@login_required
@annotator_required
@require_POST
def annotate_undo(request):
    undone = label_undo(user=request.user, since=_since(request))
    if not request.htmx:
        return redirect("annotate")
    again = _undone_entry(request, undone.transaction_id) if undone is not None else None
    if undone is None:
        message, level = "Nothing to undo in this session.", "warning"
    else:
        message, level = f"Undid {undone.transaction.external_id} = {undone.label_class}.", "notice"
        if undone.case_id is not None:
            message = f"Undid the case of {undone.transaction.external_id} = {undone.label_class}."
        if again is None:  # it waits for a reviewer now (one human queue at a time)
            message += " It is with the reviewers now; here is your next item."
    current = item_view(
        again or queue_next_item(user=request.user, exclude=()), label_classes(request)
    )
    following = _next(request, exclude=(current.transaction.pk,)) if current else None
    context = _context(request, items=[current, following], message=message, level=level)
    context.update(current=current, following=following)
    return render(request, "labeler/partials/annotate_workspace.html", context)


def _undone_entry(request, transaction_id: int):
    return (
        QueueEntry.objects.select_related("transaction", "transaction__dataset")
        .filter(transaction_id=transaction_id, leased_to=request.user)
        .first()
    )
