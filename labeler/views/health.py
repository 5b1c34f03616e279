"""/healthz: database, broker and worker status as JSON; 503 when any is down. The detail of
each check (driver errors name hosts and ports) is for staff; anyone else gets the status."""

from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from labeler.services.health import health_report


def _is_staff(request) -> bool:
    try:  # reading the signed-in user needs the database, which may be the thing that is down
        return bool(request.user.is_staff)
    except DatabaseError:
        return False


@never_cache
@require_GET
def healthz(request):
    report = health_report()
    status = 200 if report["ok"] else 503
    if not _is_staff(request):
        report = {
            "ok": report["ok"],
            "checks": {name: {"ok": check["ok"]} for name, check in report["checks"].items()},
        }
    return JsonResponse(report, status=status)
