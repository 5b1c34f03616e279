"""Transactions sent as they arrive, in a real browser: the dashboard counts them per hour with
the share queued on arrival, and the annotator sees a queued arrival first, saying why."""

import pytest
from playwright.sync_api import expect

from labeler.models import QueueEntry, TrainingPolicy, Transaction
from labeler.services import ingesting, training_runs
from labeler.services.arrivals import arrivals_score
from labeler.services.ingesting import transactions_ingest
from tests.browser.conftest import log_in
from tests.labeler.training_helpers import arrivals, raw_committee_version

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_arrivals_on_the_dashboard_and_first_in_the_queue(
    page, live_server, alice, bob, screenshot, monkeypatch, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr(training_runs, "_enqueue", lambda version_id: None)
    monkeypatch.setattr(ingesting, "_enqueue", lambda batch_id: None)
    policy = TrainingPolicy.current()
    policy.queue_size = 80
    policy.save()
    dataset, _ = raw_committee_version(bob)
    batch = transactions_ingest(dataset=dataset, body=arrivals(60), kind="json").batch
    # The arrivals in the top fifth of the version's scores are queued here, so that some are.
    scores = sorted(Transaction.objects.filter(score__isnull=False).values_list("score", flat=True))
    cut = scores[int(len(scores) * 0.8)]
    monkeypatch.setattr("labeler.services.arrivals.arrival_threshold", lambda version: cut)
    queued = arrivals_score(batch_id=batch.pk).queued
    assert queued > 0
    log_in(page, live_server.url, "alice", "alice-pass")
    page.goto(f"{live_server.url}/?dataset={dataset.name}")
    section = page.locator("section[aria-label=arrivals]")
    expect(section.locator("svg[aria-label='arrivals per hour, peak 60']")).to_be_visible()
    expect(section.locator("rect.bar title", has_text=": 60 arrivals")).to_have_count(1)
    expect(section.locator("[data-arrivals-today]")).to_contain_text("60 transactions arrived")
    expect(section.locator("[data-arrivals-today]")).to_contain_text(f"{queued} (")
    section.scroll_into_view_if_needed()
    screenshot("dashboard-arrivals")
    page.context.clear_cookies()
    log_in(page, live_server.url, "bob", "bob-pass")
    page.goto(f"{live_server.url}/annotate/")
    first = (
        QueueEntry.objects.filter(reason="arrival").order_by("-priority", "id").first().transaction
    )
    card = page.locator("#current [data-transaction]")
    expect(card).to_have_attribute("data-transaction", str(first.pk))
    expect(page.locator("#current")).to_contain_text("new arrival")
    expect(page.locator("#current")).to_contain_text("thinks so")  # its reasons, in words
    screenshot("annotate-arrival")
