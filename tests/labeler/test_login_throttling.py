"""Password guessing: after LOGIN_FAILURE_LIMIT failures for one username from one address the
pair is locked out, the right password included, until the cool-off has passed."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt

pytestmark = pytest.mark.django_db

PAGES = ["/accounts/login/", "/admin/login/"]


def sign_in(client, url, password, address="198.51.100.7", **headers):
    return client.post(
        url, {"username": "alice", "password": password}, REMOTE_ADDR=address, **headers
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("url", PAGES)
def test_the_right_password_is_refused_after_the_failure_limit(client, alice, settings, url):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        assert sign_in(client, url, "wrong").status_code == 200
    locked = sign_in(client, url, "wrong")
    assert locked.status_code == 429
    response = sign_in(client, url, "alice-pass")
    assert response.status_code == 429
    assert not signed_in(client)
    page = response.content.decode()
    assert "Too many failed sign-ins (5) for this username from this address" in page
    assert "Try again after" in page and "in 15 minutes" in page
    assert response["Retry-After"] == "900"


def test_the_lockout_ends_after_the_cool_off(client, alice):
    for _ in range(5):
        sign_in(client, "/accounts/login/", "wrong")
    assert sign_in(client, "/accounts/login/", "alice-pass").status_code == 429
    # Fifteen minutes and a second later, as the database sees it.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=15, seconds=1)
    )
    response = sign_in(client, "/accounts/login/", "alice-pass")
    assert response.status_code == 302
    assert signed_in(client)


def test_another_address_is_not_locked_out(client, alice):
    for _ in range(5):
        sign_in(client, "/accounts/login/", "wrong")
    response = sign_in(client, "/accounts/login/", "alice-pass", address="203.0.113.9")
    assert response.status_code == 302


def test_a_success_clears_the_count(client, alice):
    for _ in range(4):
        sign_in(client, "/accounts/login/", "wrong")
    assert sign_in(client, "/accounts/login/", "alice-pass").status_code == 302
    client.logout()
    for _ in range(4):
        assert sign_in(client, "/accounts/login/", "wrong").status_code == 200
    assert sign_in(client, "/accounts/login/", "alice-pass").status_code == 302


def test_behind_the_proxy_the_address_it_appended_counts(client, alice, settings):
    settings.BEHIND_TLS_PROXY = True
    for attempt in range(5):
        # The client writes a new left part each time; the proxy's entry stays the same.
        sign_in(
            client,
            "/accounts/login/",
            "wrong",
            address="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}, 198.51.100.7",
        )
    response = sign_in(
        client,
        "/accounts/login/",
        "alice-pass",
        address="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.99, 198.51.100.7",
    )
    assert response.status_code == 429
