"""Password guessing in a real browser: after five wrong passwords the sign-in page says the
account is locked for this address and when to try again, and the right password is refused."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_lockout_page_says_when_to_try_again(page, live_server, alice, screenshot):
    for _ in range(5):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "not-her-password")
        page.click("main button[type=submit]")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-pass")
    page.click("main button[type=submit]")
    alert = page.locator("main [role=alert]")
    expect(alert).to_contain_text("Too many failed sign-ins (5) for this username")
    expect(alert).to_contain_text("in 15 minutes")
    screenshot("login-locked")
    assert "/accounts/login/" in page.url  # not signed in: still on the sign-in address
