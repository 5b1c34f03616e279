"""What the REST API remembers: the first response to each idempotency key."""

from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """A client's key for one write: a retried request with the same key gets the first
    response again and changes nothing."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    # What the key was first used for: the same key on another request is an error.
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and body")
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotencykey_once_per_user"),
        ]

    def __str__(self):
        return f"{self.user_id}:{self.key}"
