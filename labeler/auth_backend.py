"""Django's model backend, reading a user's permissions in one query instead of two, and
remembering them for a few seconds.

Every page and API call checks a role (a group's permission): the stock backend reads the
user's own permissions and their groups' permissions separately on every request; here both
come in one read, kept in this process for `memory.CACHE_SECONDS`. A change of groups or
permissions made in this process is seen at once (`labeler.signals`); one made in another
process (the admin served by another worker) within those seconds. Whether the user is active
or a superuser is read with the user on every request, never from memory.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q

from labeler.models import memory


class ModelBackendOneQuery(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = memory.remembered(
                Permission,
                lambda: _permissions_read(user_obj),
                key=(user_obj.pk, user_obj.is_superuser),
            )
        return user_obj._perm_cache


def _permissions_read(user) -> frozenset[str]:
    permissions = Permission.objects.all()
    if not user.is_superuser:
        permissions = permissions.filter(Q(user=user) | Q(group__user=user))
    return frozenset(
        f"{app_label}.{codename}"
        for app_label, codename in permissions.values_list(
            "content_type__app_label", "codename"
        ).order_by()
    )


def permissions_forget(**kwargs) -> None:
    """Connected to every change of groups and permissions (`labeler.signals`)."""
    memory.forget(Permission)
