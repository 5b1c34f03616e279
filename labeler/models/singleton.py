"""One-row settings tables (the policies), read on hot paths and cached for a few seconds."""

from __future__ import annotations

import time

from django.db import models

CACHE_SECONDS = 10.0


class SingletonPolicy(models.Model):
    """A table of one row (pk 1), edited in the admin. `current()` answers from memory for
    `CACHE_SECONDS`: the annotator page reads the policies on every label, and a change made
    in another process is seen within that time (at once in the process that saved it)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        type(self).forget()

    @classmethod
    def current(cls):
        cached = cls.__dict__.get("_cached")
        now = time.monotonic()
        if cached is not None and now - cached[1] < CACHE_SECONDS:
            return cached[0]
        policy, _ = cls.objects.get_or_create(pk=1)
        cls._cached = (policy, now)
        return policy

    @classmethod
    def forget(cls) -> None:
        cls._cached = None
