"""An issuer's raw transaction on the annotator page: its date as the file wrote it, the card,
the merchant, the category, the country and the description, wrapped, not cut."""

from datetime import datetime

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
    # The time in the configured zone (UTC here), as written on hover; the amount's currency.
    when = card.locator("dd[title^='as the file wrote it']")
    expect(when).to_have_attribute("title", f"as the file wrote it: {row.attributes['timestamp']}")
    written = datetime.fromisoformat(row.attributes["timestamp"])
    expect(when).to_contain_text(f"{written:%H:%M:%S} UTC")
    expect(when).to_contain_text(f"{written.day} {written:%b %Y}")
    expect(card).to_contain_text(f"{row.amount:,.2f} {row.attributes['currency']}")
    expect(card.locator("dt", has_text="currency")).to_have_count(0)
    expect(card.locator("h2")).to_contain_text(f"in {row.dataset.name}")
    for column in ("card_id", "merchant_id", "mcc", "country", "entry_mode", "description"):
        expect(card.locator("dt", has_text=column)).to_have_count(1)
        expect(card).to_contain_text(row.attributes[column])
    expect(card).not_to_contain_text("is_fraud")  # the held-back label is never shown
    # The card's timeline, scrolled within its box to this transaction's row.
    current = card.locator(".timeline tr.current")
    expect(current).to_have_attribute("data-timeline-row", str(row.pk))
    expect(current).to_be_in_viewport()
    screenshot("annotate-raw-transaction")


def test_the_key_list_shows_only_the_keys_that_work_now(page, live_server, bob, screenshot):
    from labeler.models import LabelClass, QueueEntry

    raw_demo_import(customers=20, terminals=40, days=5, seed=2)
    rows = list(Transaction.objects.order_by("pk")[:2])
    queue_entry(rows[0], priority=2.0, reason="cold_start")  # cold start: no suggestion yet
    fraud = LabelClass.objects.get(is_positive=True)
    queue_entry(rows[1], priority=1.0, reason="likely_fraud")
    QueueEntry.objects.filter(transaction=rows[1]).update(suggested_class=fraud, score=0.9)
    log_in(page, live_server.url, "bob", "bob-pass")
    page.goto(f"{live_server.url}/annotate/")
    expect(page.locator("#current [data-transaction]")).to_have_attribute(
        "data-transaction", str(rows[0].pk)
    )
    keys = page.locator("#keys")

    def listed() -> list[str]:
        page.keyboard.press("?")
        expect(keys).to_be_visible()
        shown = keys.locator("tr[data-key]:visible").evaluate_all(
            "rows => rows.map(r => r.dataset.key)"
        )
        page.keyboard.press("Escape")
        expect(keys).to_be_hidden()
        return shown

    hotkeys = [c.hotkey for c in LabelClass.objects.order_by("position")]
    case = ["timeline"] * 3  # shift + arrows, a, Esc: the raw rows have a card
    # No suggestion to confirm or reject, nothing to undo.
    assert listed() == [*hotkeys, "s", *case]
    expect(page.locator("#current [data-transaction]")).to_have_attribute("data-ready", "true")
    page.keyboard.press(fraud.hotkey)
    expect(page.locator("#current [data-transaction]")).to_have_attribute(
        "data-transaction", str(rows[1].pk)
    )
    expect(page.locator("[data-stat=labels]")).to_have_text("1")  # the answer was recorded
    assert listed() == ["y", "n", *hotkeys, "s", *case, "u"]
    page.keyboard.press("?")
    screenshot("annotate-keys-raw")
