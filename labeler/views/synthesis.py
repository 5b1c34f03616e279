"""Synthetic copies on the dashboard (staff): request one, follow it, read its verdicts,
download the file and its report."""

from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from labeler.models import Dataset, SynthesisRun
from labeler.pages.synthesis import synthesis_card
from labeler.services.synthesis import (
    SynthesisRejected,
    synthesis_download_path,
    synthesis_request,
)


def _render(request, dataset: Dataset, *, message: str = "", error: str = ""):
    return render(
        request,
        "labeler/partials/synthesis_status.html",
        {"card": synthesis_card(dataset), "message": message, "error": error},
    )


@staff_member_required
@require_GET
def synthesis_status(request, dataset_id: int):
    """The partial the page polls while a copy is queued or being made."""
    return _render(request, get_object_or_404(Dataset, pk=dataset_id))


@staff_member_required
@require_POST
def synthesis_start(request, dataset_id: int):
    dataset = get_object_or_404(Dataset, pk=dataset_id)
    form = request.POST
    try:
        run = synthesis_request(
            dataset=dataset,
            rows=int(form.get("rows", "0") or 0),
            fraud_share=float(form.get("fraud_share_percent", "0") or 0) / 100.0,
            generator=form.get("generator", "auto"),
            output_format=form.get("output_format", "csv"),
            epochs=int(form.get("epochs", "30") or 0),
            requested_by=request.user,
        )
    except ValueError:
        return _render(request, dataset, error="Rows, fraud share and epochs must be numbers.")
    except SynthesisRejected as rejected:
        return _render(request, dataset, error=str(rejected))
    return _render(request, dataset, message=f"Synthetic copy {run.pk} queued.")


@staff_member_required
@require_GET
def synthesis_download(request, run_id: int, part: str):
    run = get_object_or_404(SynthesisRun.objects.select_related("dataset"), pk=run_id)
    try:
        path = synthesis_download_path(run, part)
    except SynthesisRejected as rejected:
        raise Http404(str(rejected)) from None
    if path is None:
        raise Http404(f"synthesis run {run.pk} has no {part}")
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
