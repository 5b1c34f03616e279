"""Shared fixtures: fast hashing, personas, and the rule that CI never skips a service test."""

from __future__ import annotations

import os
import socket

import pytest

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
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(django_user_model):
    """Alice runs the team: staff, allowed to import."""
    return django_user_model.objects.create_user("alice", password="alice-pass", is_staff=True)


@pytest.fixture
def bob(django_user_model):
    """Bob labels transactions on Alice's team; he is not staff."""
    return django_user_model.objects.create_user("bob", password="bob-pass")


@pytest.fixture
def charlie(django_user_model):
    """Charlie is an outsider with an account and no role."""
    return django_user_model.objects.create_user("charlie", password="charlie-pass")
