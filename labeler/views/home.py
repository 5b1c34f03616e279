"""The dashboard: how the loop is doing for each dataset, at a glance."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from labeler.models import Dataset
from labeler.pages.home import dataset_dashboard


@login_required
def home(request):
    boards = [dataset_dashboard(dataset) for dataset in Dataset.objects.order_by("name")]
    return render(request, "labeler/home.html", {"boards": boards})
