"""Shared fixtures: fast hashing, personas, and the rule that CI never skips a service test."""

from __future__ import annotations

import os
import socket

import pytest

from labeler.roles import ROLES, role_group

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_available(message: str) -> None:
    """Services and Chromium: optional on a laptop, mandatory in CI, where a missing one fails."""
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it")
    pytest.skip(f"{message}; this test runs in CI")


def require_reachable(name: str, host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as error:
        require_available(f"{name} at {host}:{port} is not reachable ({error})")


@pytest.fixture(autouse=True)
def _data_migrations_rows(request):
    """Transactional tests flush every table, including the rows data migrations wrote (the
    default label classes, the role groups); put them back before each such test."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("transactional_db")
    from importlib import import_module

    from django.apps import apps

    classes = import_module("labeler.migrations.0002_default_label_classes")
    classes.create_default_classes(apps, None)
    for name in ROLES:
        role_group(name)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(django_user_model):
    """Alice runs the team: staff, allowed to import, and a reviewer."""
    user = django_user_model.objects.create_user("alice", password="alice-pass", is_staff=True)
    user.groups.add(role_group("reviewer"))
    return user


@pytest.fixture
def bob(django_user_model):
    """Bob labels transactions on Alice's team (the annotator group); he is not staff."""
    user = django_user_model.objects.create_user("bob", password="bob-pass")
    user.groups.add(role_group("annotator"))
    return user


@pytest.fixture
def charlie(django_user_model):
    """Charlie is an outsider with an account and no role."""
    return django_user_model.objects.create_user("charlie", password="charlie-pass")


@pytest.fixture
def dora(django_user_model):
    """Dora reviews Bob's labels (the reviewer group); she is not staff."""
    user = django_user_model.objects.create_user("dora", password="dora-pass")
    user.groups.add(role_group("reviewer"))
    return user


@pytest.fixture(autouse=True)
def _fresh_policies():
    """Each test reads the policies and classes from its own database, never from an earlier
    test's cache."""
    from labeler.models import memory

    memory.forget()
    yield
    memory.forget()
