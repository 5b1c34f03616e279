"""The dashboard with demo data in a real browser: a few rounds of the loop, then a look at the
audit's estimate with its interval on the learning curve and in the model card."""

import pytest
from playwright.sync_api import expect

from labeler.models import ModelVersion, TrainingPolicy
from labeler.services import training_runs
from labeler.services.demo import demo_data_import
from labeler.services.training import training_run_execute
from labeler.services.training_runs import training_request
from tests.browser.conftest import log_in
from tests.labeler.training_helpers import label_queue, small_options

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_the_dashboard_after_four_rounds(
    page, live_server, alice, bob, screenshot, monkeypatch, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr(training_runs, "_enqueue", lambda version_id: None)
    policy = TrainingPolicy.current()
    policy.queue_size, policy.audit_share = 100, 0.2  # enough audit labels in a few rounds
    policy.save()
    dataset = demo_data_import(rows=3000, features=8, fraud_rate=0.03, seed=4).dataset
    for labels in (0, 100, 60, 60):  # cold start, then three rounds of a simulated annotator
        label_queue(dataset, bob, labels)
        version = training_request(dataset=dataset, trigger="command", enqueue=False).version
        assert training_run_execute(
            version_id=version.pk, worker="test", options=small_options()
        ) == ("activated")
    log_in(page, live_server.url, "alice", "alice-pass")
    page.goto(f"{live_server.url}/")
    expect(page.locator("[data-count=transactions]")).to_have_text("3,000")
    expect(page.locator("[data-count=human_labeled]")).to_have_text("220")
    expect(page.locator(".line-chart polyline")).to_have_count(2)
    expect(page.locator(".versions tbody tr")).to_have_count(4)
    active = ModelVersion.objects.get(status="active")
    expect(page.locator(".versions .status-active")).to_contain_text(f"v{active.pk}")
    # The active version is measured by the audit: its estimate, with its interval, on the
    # curve (a bar per measured version) and in the model card's table.
    quality = active.metrics["quality"]
    assert quality["labels"] >= 20 and quality["frauds"] >= 3, quality
    measured = sum(
        "average_precision" in (v.metrics.get("quality") or {}) for v in ModelVersion.objects.all()
    )
    expect(page.locator(".line-chart line.interval")).to_have_count(measured)
    card = page.locator(".training [data-quality=ready]")
    expect(card).to_contain_text("Average precision")
    expect(card).to_contain_text(f"{quality['average_precision']['value']:.3f}")
    expect(card).to_contain_text(f"{quality['labels']} audit labels")
    expect(page.locator(".versions .status-active [data-audit-ap]")).to_contain_text("(")
    screenshot("dashboard")
