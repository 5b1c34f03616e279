"""Staff make a synthetic copy from the dashboard in a real browser: the card polls while the
worker runs, then shows the report's verdicts and the download links; a bad request is named."""

import pytest
from playwright.sync_api import expect

from labeler.models import SynthesisRun
from labeler.services import synthesis as synthesis_service
from labeler.services.synthesis import synthesis_run_execute
from tests.browser.conftest import log_in
from tests.labeler.test_synthesis import trusted_dataset

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_make_a_copy_then_read_its_verdicts(
    page, live_server, alice, bob, screenshot, monkeypatch, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # we are the worker
    monkeypatch.setattr(synthesis_service.current_app, "send_task", lambda *a, **k: None)
    dataset = trusted_dataset(tmp_path, rows=1500)
    log_in(page, live_server.url, "alice", "alice-pass")
    page.goto(f"{live_server.url}/")
    card = page.locator(f"#synthesis-{dataset.pk}")
    expect(card).to_contain_text("Synthetic copies")
    page.evaluate("window.__same_page = true")

    card.get_by_label("Rows").fill("6000000")
    card.get_by_role("button", name="Make a copy").click()
    expect(card.get_by_role("alert")).to_contain_text("rows must lie between 1")
    assert not SynthesisRun.objects.exists()

    card.get_by_label("Rows").fill("500")
    card.get_by_label("Fraud share (%)").fill("10")
    card.get_by_label("Generator").select_option("kernel")
    card.get_by_label("Epochs").fill("2")
    card.get_by_role("button", name="Make a copy").click()
    expect(card).to_contain_text("queued, waiting for a worker")
    expect(card.get_by_role("button", name="Make a copy")).to_be_disabled()
    run = SynthesisRun.objects.get()
    assert (run.rows, run.fraud_share, run.generator, run.epochs) == (500, 0.1, "kernel", 2)
    assert run.requested_by == alice

    assert synthesis_run_execute(run_id=run.pk, worker="test") == "done"
    # The card polls every 2 s: the verdicts appear without a reload.
    row = card.locator(f"tr[data-run='{run.pk}']")
    expect(row).to_contain_text("ROC AUC")
    expect(row).to_contain_text("copies")
    expect(row).to_contain_text("kernel")
    expect(row.get_by_role("link", name="csv")).to_be_visible()
    expect(card.get_by_role("button", name="Make a copy")).to_be_enabled()
    assert page.evaluate("window.__same_page") is True
    screenshot("synthesis-done")
    with page.expect_download() as download:
        row.get_by_role("link", name="report").click()
    assert download.value.suggested_filename.endswith(".report.json")

    # an annotator sees no such card
    page.context.clear_cookies()
    log_in(page, live_server.url, "bob", "bob-pass")
    page.goto(f"{live_server.url}/")
    expect(page.locator(f"#synthesis-{dataset.pk}")).to_have_count(0)
