"""The answer to a sign-in while its username and address are locked out (django-axes)."""

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone


def lockout_response(request, original_response=None, credentials=None):
    """429 with when to try again, for the sign-in page and the admin's (the API has no
    password sign-in: tokens are made in the admin)."""
    # Each try during the lockout restarts the cool-off (AXES_RESET_COOL_OFF_ON_FAILURE_...).
    until = timezone.localtime(timezone.now() + settings.AXES_COOLOFF_TIME)
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    message = (
        f"Too many failed sign-ins ({settings.AXES_FAILURE_LIMIT}) for this username from this "
        f"address. Try again after {until:%H:%M %Z}, in {minutes} minutes; every try before "
        "then restarts the wait."
    )
    response = render(
        request, "registration/locked_out.html", {"message": message, "until": until}, status=429
    )
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
