"""The permission backend: the same answers as Django's, in one query, then from memory until
they change."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db import connection

from labeler.models import memory
from labeler.roles import role_group

pytestmark = pytest.mark.django_db


def fresh(user):
    return type(user).objects.get(pk=user.pk)  # no permission cache yet


def test_group_and_own_permissions_come_in_one_query(bob, django_assert_num_queries):
    bob.user_permissions.add(Permission.objects.get(codename="view_dataset"))
    bob = fresh(bob)
    with django_assert_num_queries(1):
        assert bob.has_perm("labeler.annotate")
        assert bob.has_perm("labeler.view_dataset")
        assert not bob.has_perm("labeler.review")
    assert bob.get_all_permissions() == ModelBackend().get_all_permissions(fresh(bob))


def test_roles_outsiders_superusers_and_inactive_users(alice, charlie, django_user_model):
    assert fresh(alice).has_perms(["labeler.annotate", "labeler.review", "labeler.view_label"])
    assert fresh(charlie).get_all_permissions() == set()
    root = django_user_model.objects.create_superuser("root", password="root-pass")
    assert fresh(root).get_all_permissions() == {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")
    }
    alice.is_active = False
    alice.save()
    assert not fresh(alice).has_perm("labeler.annotate")


def test_permissions_are_read_once_then_from_memory(bob, django_assert_num_queries):
    assert fresh(bob).has_perm("labeler.annotate")
    again = fresh(bob)  # the next request's user
    with django_assert_num_queries(0):
        assert again.has_perm("labeler.annotate")


def test_a_role_given_or_taken_in_this_process_applies_at_once(bob, charlie):
    annotators = role_group("annotator")
    assert fresh(bob).has_perm("labeler.annotate")
    bob.groups.remove(annotators)
    assert not fresh(bob).has_perm("labeler.annotate")
    charlie.groups.add(annotators)
    assert fresh(charlie).has_perm("labeler.annotate")
    annotators.permissions.remove(Permission.objects.get(codename="annotate"))
    assert not fresh(charlie).has_perm("labeler.annotate")
    charlie.is_superuser = True  # read with the user, never from memory
    charlie.save()
    assert fresh(charlie).has_perm("labeler.annotate")


def test_a_role_taken_by_another_process_applies_within_the_cache_time(bob, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(memory.time, "monotonic", lambda: now[0])
    assert fresh(bob).has_perm("labeler.annotate")
    with connection.cursor() as cursor:  # the admin of another process: no signal here
        cursor.execute("DELETE FROM auth_user_groups WHERE user_id = %s", [bob.pk])
    now[0] += memory.CACHE_SECONDS - 1
    assert fresh(bob).has_perm("labeler.annotate")
    now[0] += 2
    assert not fresh(bob).has_perm("labeler.annotate")
