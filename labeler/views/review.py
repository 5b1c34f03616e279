"""The review page: the annotator page's hotkeys over the items that need a second look.

`y` agrees with the label under review, `n` overrules it (to the other class, or a digit picks),
a class's key settles the class outright, `s` skips, `u` undoes the last verdict of the session.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from labeler.errors import FraudloopError
from labeler.models import ReviewItem, ReviewPolicy, Transaction
from labeler.pages.review import review_claim, review_item_view, review_session_stats
from labeler.pages.review_quality import annotator_quality, pseudo_label_precision, review_backlog
from labeler.services.review import (
    review_lease_release,
    review_next_item,
    review_submit,
    review_undo,
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

SESSION_SINCE = "review_since"
SESSION_SKIPPED = "review_skipped"
reviewer_required = permission_required("labeler.review", raise_exception=True)
TEMPLATES = {
    "item_template": "labeler/partials/review_item.html",
    "empty_template": "labeler/partials/review_empty.html",
    "stats_template": "labeler/partials/review_stats.html",
}


def _since(request) -> datetime:
    return session_since(request, SESSION_SINCE)


def _next(request, *, exclude: tuple[int, ...]):
    skipped = session_skipped(request, SESSION_SKIPPED)
    item = review_next_item(user=request.user, exclude=exclude + skipped)
    return review_item_view(item, label_classes(request))


def _context(request, *, message: str = "", level: str = "notice", **items) -> dict:
    return {
        **TEMPLATES,
        **items,
        "stats": review_session_stats(user=request.user, since=_since(request)),
        "message": message,
        "level": level,
        "classes": label_classes(request),
        "four_eyes": ReviewPolicy.current().four_eyes_for_fraud,
    }


@login_required
@reviewer_required
@require_GET
def review(request):
    current = _next(request, exclude=())
    following = _next(request, exclude=(current.transaction.pk,)) if current else None
    return render(
        request, "labeler/review.html", _context(request, current=current, following=following)
    )


def _after_answer(request, *, showing: int | None, message: str = "", level: str = "notice"):
    if not request.htmx:
        return redirect("review")
    following = _next(request, exclude=(showing,) if showing else ())
    context = _context(request, message=message, level=level, following=following)
    return render(request, "labeler/partials/annotate_next.html", context)


@login_required
@reviewer_required
@require_POST
def review_answer(request):
    answer = parse_answer(request)
    if isinstance(answer, HttpResponseBadRequest):
        return answer
    transaction_id, action, class_id = answer
    classes = label_classes(request)
    # "Agree" agrees with the claim the reviewer saw, which the card sends back; without it
    # (an older page) the claim is read.
    if "suggested" in request.POST:
        claim_id = parse_int(request.POST.get("suggested"))
        claim = next((c for c in classes if c.pk == claim_id), None)
    else:
        claim = _claim_read(transaction_id, classes)
    label_class = class_for_answer(action, class_id, claim=claim, classes=classes)
    message, level = "", "notice"
    try:
        # With no open item there is no claim to agree with: the service tells a repeat of an
        # earlier request from a verdict that came too late.
        outcome = review_submit(
            user=request.user,
            transaction_id=transaction_id,
            label_class=label_class,
            request_token=request.POST.get("token", ""),
        )
        if not outcome.created:
            external_id = outcome.item.transaction.external_id
            message = f"Already recorded: {external_id} = {outcome.item.resolved_class}."
    except FraudloopError as refused:
        message, level = str(refused), "warning"
    return _after_answer(
        request, showing=parse_int(request.POST.get("showing")), message=message, level=level
    )


def _claim_read(transaction_id: int, classes):
    open_item = (
        ReviewItem.objects.filter(transaction_id=transaction_id, resolved_at__isnull=True)
        .select_related("transaction", "pseudo_label")
        .first()
    )
    if open_item is None:
        get_object_or_404(Transaction, pk=transaction_id)
        return None
    return review_claim(open_item, classes)


@login_required
@reviewer_required
@require_POST
def review_skip(request):
    return skip(
        request, release=review_lease_release, session_key=SESSION_SKIPPED, after=_after_answer
    )


@login_required
@reviewer_required
@require_POST
def review_undo_last(request):
    undone = review_undo(user=request.user, since=_since(request))
    if not request.htmx:
        return redirect("review")
    if undone is None:
        message, level = "Nothing to undo in this session.", "warning"
        current = _next(request, exclude=())
    else:
        message, level = f"Took back the verdict on {undone.transaction.external_id}.", "notice"
        current = review_item_view(
            ReviewItem.objects.filter(
                pk=undone.pk, resolved_at__isnull=True, leased_to=request.user
            ).first(),
            label_classes(request),
        ) or _next(request, exclude=())
    following = _next(request, exclude=(current.transaction.pk,)) if current else None
    context = _context(request, message=message, level=level, current=current, following=following)
    return render(request, "labeler/partials/annotate_workspace.html", context)


@login_required
@reviewer_required
@require_GET
def review_quality(request):
    """The reviewer dashboard: agreement per annotator, pseudo-label precision per version,
    and what waits for review."""
    return render(
        request,
        "labeler/review_quality.html",
        {
            "annotators": annotator_quality(),
            "versions": pseudo_label_precision(),
            "backlog": review_backlog(),
            "policy": ReviewPolicy.current(),
        },
    )
