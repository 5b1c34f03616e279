"""/favicon.ico: the mark browsers ask for on every page, as SVG, public and cached for a day."""

from functools import cache

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET


@cache
def _mark() -> bytes:
    return (settings.BASE_DIR / "static" / "favicon.svg").read_bytes()


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request):
    return HttpResponse(_mark(), content_type="image/svg+xml")
