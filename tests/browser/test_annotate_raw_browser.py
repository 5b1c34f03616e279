"""An issuer's raw transaction on the annotator page: its date as the file wrote it, the card,
the merchant, the category, the country and the description, wrapped, not cut."""

import pytest
from playwright.sync_api import expect

from labeler.models import Transaction
from labeler.services.demo import raw_demo_import
from tests.browser.conftest import log_in
from tests.factories import queue_entry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_raw_transaction_shows_its_card_merchant_and_date(page, live_server, bob, screenshot):
    raw_demo_import(customers=40, terminals=80, days=10, seed=1)
    row = Transaction.objects.order_by("-amount").first()
    queue_entry(row, priority=1.0, reason="cold_start")
    log_in(page, live_server.url, "bob", "bob-pass")
    page.goto(f"{live_server.url}/annotate/")
    card = page.locator("#current [data-transaction]")
    expect(card).to_contain_text(row.attributes["timestamp"])
    for column in ("card_id", "merchant_id", "mcc", "country", "entry_mode", "description"):
        expect(card.locator("dt", has_text=column)).to_have_count(1)
        expect(card).to_contain_text(row.attributes[column])
    expect(card).not_to_contain_text("is_fraud")  # the held-back label is never shown
    screenshot("annotate-raw-transaction")
