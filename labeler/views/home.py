"""The start page: what data is loaded and where to go next."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from labeler import selectors


@login_required
def home(request):
    return render(request, "labeler/home.html", {"datasets": selectors.dataset_summaries()})
