"""Training status on the home page: the active version, a progress bar, and 'train now'."""

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from labeler import selectors
from labeler.models import Dataset, ModelVersion
from labeler.services.training_runs import training_request


def _render(request, dataset: Dataset, *, message: str = ""):
    return render(
        request,
        "labeler/partials/training_status.html",
        {"overview": selectors.training_overview(dataset=dataset), "message": message},
    )


@login_required
@require_GET
def training_status(request, dataset_id: int):
    """The partial the progress bar polls while a run is queued or training."""
    return _render(request, get_object_or_404(Dataset, pk=dataset_id))


@staff_member_required
@require_POST
def training_start(request, dataset_id: int):
    dataset = get_object_or_404(Dataset, pk=dataset_id)
    outcome = training_request(
        dataset=dataset, trigger=ModelVersion.Trigger.BUTTON, requested_by=request.user
    )
    message = (
        f"Training v{outcome.version.pk} queued."
        if outcome.created
        else f"A run is already queued (v{outcome.version.pk}): this request joins it."
    )
    return _render(request, dataset, message=message)
