"""Staff press 'Train now' in a real browser; the card polls and shows the new version."""

import pytest
from playwright.sync_api import expect

from labeler.models import ModelVersion, TrainingPolicy
from labeler.services import training_runs
from labeler.services.demo import demo_data_import
from labeler.services.training import training_run_execute
from tests.browser.conftest import log_in
from tests.labeler.training_helpers import small_options

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_train_now_then_the_progress_card_shows_the_active_version(
    page, live_server, alice, screenshot, monkeypatch, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr(training_runs, "_enqueue", lambda version_id: None)  # we are the worker
    policy = TrainingPolicy.current()
    policy.queue_size = 100
    policy.save()
    dataset = demo_data_import(rows=2000, features=8, fraud_rate=0.02, seed=2).dataset
    log_in(page, live_server.url, "alice", "alice-pass")
    page.goto(f"{live_server.url}/")
    card = page.locator(f"#training-{dataset.pk}")
    expect(card).to_contain_text("No model yet")
    page.evaluate("window.__same_page = true")

    card.get_by_role("button", name="Train now").click()
    expect(card).to_contain_text("queued")
    expect(card.get_by_role("button", name="Train now")).to_be_disabled()
    expect(card.get_by_role("progressbar")).to_be_visible()
    screenshot("training-queued")

    version = ModelVersion.objects.get(dataset=dataset)
    assert version.trigger == "button" and version.requested_by == alice
    assert training_run_execute(version_id=version.pk, worker="test", options=small_options()) == (
        "activated"
    )
    # The card polls every second: the active version appears without a reload.
    expect(card).to_contain_text(f"Active: v{version.pk}")
    expect(card).to_contain_text("100 items queued for annotators")
    expect(card.get_by_role("button", name="Train now")).to_be_enabled()
    assert page.evaluate("window.__same_page") is True
    screenshot("training-active")
