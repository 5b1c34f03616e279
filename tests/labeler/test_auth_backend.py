"""The permission backend: the same answers as Django's, in one query."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

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
