"""Staff import a file in a real browser: the error and the success appear without a reload."""

import pytest
from playwright.sync_api import expect

from labeler.models import Transaction
from tests.browser.conftest import log_in
from tests.labeler.importing_helpers import reference_csv, write

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_staff_imports_through_the_page(page, live_server, alice, tmp_path, screenshot):
    log_in(page, live_server.url, "alice", "alice-pass")
    page.goto(f"{live_server.url}/import/")
    page.fill("#id_dataset", "cards")

    bad = write(tmp_path, "broken.csv", reference_csv(rows=5).replace(",0.0200,", ",oops,", 1))
    page.set_input_files("#id_file", str(bad))
    page.click("main button[type=submit]")
    alert = page.locator("#import-result [role=alert]")
    expect(alert).to_contain_text("broken.csv, row 1 (line 2), column 'V3': 'oops' is not a number")
    screenshot("import-error")
    assert Transaction.objects.count() == 0

    page.evaluate("window.__same_page = true")  # survives only if htmx swapped, not a reload
    good = write(tmp_path, "cards.csv", reference_csv(rows=12, frauds=(4, 9)))
    page.set_input_files("#id_file", str(good))
    page.select_option("#id_label_mode", "reference")
    page.click("main button[type=submit]")
    expect(page.locator("#import-result [role=status]")).to_contain_text(
        "Imported 12 transactions from cards.csv into dataset cards"
    )
    expect(page.locator("#import-result table tbody tr").first).to_contain_text("cards.csv")
    assert page.evaluate("window.__same_page") is True
    screenshot("import-success")
    assert Transaction.objects.filter(dataset__name="cards").count() == 12
