"""One-row settings tables (the policies), read on hot paths and cached for a few seconds."""

from __future__ import annotations

from labeler.models import memory


class SingletonPolicy(memory.ForgetOnWrite):
    """A table of one row (pk 1), edited in the admin. `current()` answers from memory for
    `memory.CACHE_SECONDS`: the annotator page reads the policies on every label."""

    class Meta:
        abstract = True

    @classmethod
    def current(cls):
        return memory.remembered(cls, lambda: cls.objects.get_or_create(pk=1)[0])
