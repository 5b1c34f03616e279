"""The dashboard: how the loop is doing for one dataset at a glance, with a picker for the
others (the choice is remembered for the session)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from labeler.models import Dataset
from labeler.pages.home import dataset_dashboard
from labeler.pages.synthesis import synthesis_card

SESSION_KEY = "dashboard_dataset"


def _chosen(request, datasets: list[Dataset]) -> Dataset | None:
    by_name = {dataset.name: dataset for dataset in datasets}
    asked = request.GET.get("dataset")
    if asked is not None:
        if asked not in by_name:
            raise Http404("No dataset of that name.")
        request.session[SESSION_KEY] = asked
        return by_name[asked]
    remembered = by_name.get(request.session.get(SESSION_KEY, ""))
    # Else the newest dataset: the one a team imported last is the one it works on.
    return remembered or max(datasets, key=lambda d: (d.created_at, d.pk), default=None)


@login_required
def home(request):
    datasets = list(Dataset.objects.order_by("name"))
    chosen = _chosen(request, datasets)
    board = dataset_dashboard(chosen) if chosen else None
    synthesis = synthesis_card(chosen) if chosen and request.user.is_staff else None
    return render(
        request,
        "labeler/home.html",
        {"board": board, "datasets": datasets, "synthesis": synthesis},
    )
