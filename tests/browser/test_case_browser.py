"""A case by keyboard: the item and nine of its card's older transactions selected with
shift + arrow down, labeled with one key, undone with one key."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from labeler.models import Label, LabelClass
from tests.browser.conftest import log_in
from tests.factories import DatasetFactory, ImportBatchFactory, TransactionFactory, queue_entry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

START = datetime(2026, 3, 1, tzinfo=UTC).timestamp()


def test_label_a_case_of_ten_by_keyboard_and_undo_it(page, live_server, bob, screenshot):
    dataset = DatasetFactory(name="cards", schema={"time": "datetime"})
    batch = ImportBatchFactory(dataset=dataset)
    rows = [
        TransactionFactory(
            import_batch=batch,
            time=START + i * 3600,
            amount=20 + i,
            card_key="c1",
            merchant_key="m1",
            score=0.9 if i >= 8 else 0.1,
        )
        for i in range(15)
    ]
    entry = queue_entry(rows[-1], priority=1.0, reason="likely_fraud")
    fraud = LabelClass.objects.get(is_positive=True)
    # As a run explains the item: its reasons and the nearest transactions people labeled.
    entry.explanation = {
        "reasons": [
            {"name": "card_amount_ratio_7d", "log_odds": 1.8, "deviation": 6.0, "anomaly": False},
            {"name": "card_seconds_since_previous", "log_odds": 0.7, "deviation": -2.2},
        ],
        "nearest": [[rows[0].pk, "fraud"]],
    }
    entry.save(update_fields=["explanation"])
    log_in(page, live_server.url, "bob", "bob-pass")
    page.goto(f"{live_server.url}/annotate/")
    item = page.locator("#current [data-transaction]")
    expect(item).to_have_attribute("data-transaction", str(rows[-1].pk))
    expect(item).to_have_attribute("data-ready", "true")
    for _ in range(9):
        page.keyboard.press("Shift+ArrowDown")
    selected = item.locator(".timeline tr.selected")
    expect(selected).to_have_count(9)
    expect(item.locator("[data-case-note]")).to_contain_text("9 selected")
    expect(item.locator(".why")).to_contain_text("multiplies the fraud odds by 6.0")
    expect(item.locator(".nearest")).to_contain_text(f"{rows[0].external_id}: Fraud")
    screenshot("annotate-case-selected")
    page.keyboard.press(fraud.hotkey)
    expect(page.locator(".message, [role=status], [role=alert]").first).to_contain_text(
        "a case of 10 transactions"
    )
    labels = Label.objects.filter(annotator=bob, status="active")
    assert labels.count() == 10
    assert {x.transaction_id for x in labels} == {row.pk for row in rows[5:]}
    assert len({x.case_id for x in labels}) == 1 and labels.first().case_id is not None

    page.keyboard.press("u")
    expect(page.locator("#current [data-transaction]")).to_have_attribute(
        "data-transaction", str(rows[-1].pk)
    )
    assert not Label.objects.filter(annotator=bob, status="active").exists()
    assert Label.objects.filter(annotator=bob, status="superseded").count() == 10

    # "a": every transaction since the first suspicious one (scores of 0.9 from row 8 on).
    item = page.locator("#current [data-transaction]")
    expect(item).to_have_attribute("data-ready", "true")
    page.keyboard.press("a")
    expect(item.locator(".timeline tr.selected")).to_have_count(6)  # rows 8-13
    page.keyboard.press("Escape")
    expect(item.locator(".timeline tr.selected")).to_have_count(0)
