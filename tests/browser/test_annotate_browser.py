"""An annotator labels 20 items with hotkeys only, undoes one, and the database agrees."""

import numpy as np
import pytest
from playwright.sync_api import expect

from labeler.models import Label, LabelClass, ModelVersion, QueueEntry
from tests.browser.conftest import log_in
from tests.factories import DatasetFactory, ModelVersionFactory, TransactionFactory, queue_entry

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def queue_of(count: int) -> list[QueueEntry]:
    legit, fraud = LabelClass.objects.get(name="legit"), LabelClass.objects.get(name="fraud")
    dataset = DatasetFactory(name="hotkeys")
    version = ModelVersionFactory(
        dataset=dataset,
        status=ModelVersion.Status.ACTIVE,
        metrics={
            "profiles": {
                "center": [0.0] * 3,
                "scale": [1.0] * 3,
                "classes": {"legit": [0.0, 0.1, -0.2], "fraud": [2.5, -3.0, 1.5]},
            }
        },
    )
    rng = np.random.default_rng(0)
    entries = []
    for index in range(count):
        suggested = fraud if index % 4 == 0 else legit
        transaction = TransactionFactory(
            import_batch__dataset=dataset,
            external_id=f"tx-{index:03d}",
            amount=float(rng.integers(1, 900)),
            features=rng.normal(size=3).astype("<f4").tobytes(),
            score=0.93 if suggested == fraud else 0.04,
            suggested_class=suggested,
            scored_by=version,
        )
        entries.append(
            queue_entry(
                transaction,
                priority=count - index,
                reason="likely_fraud" if suggested == fraud else "uncertain",
            )
        )
    return entries


def test_twenty_labels_by_keyboard_then_undo(page, live_server, bob, screenshot, monkeypatch):
    monkeypatch.setattr(
        "labeler.services.training_runs.training_request_if_due", lambda **kwargs: None
    )
    queue_of(30)
    log_in(page, live_server.url, "bob", "bob-pass")
    page.goto(f"{live_server.url}/annotate/")
    page.evaluate("window.__same_page = true")
    current = page.locator("#current [data-transaction]")
    expect(current).to_contain_text("tx-000")
    screenshot("annotate-first-item")

    keys = ["y", "n", "Enter", "f", "l"] * 4  # confirm, reject, confirm, fraud, legit
    answered = []
    for key in keys:
        expect(page.locator("#current [data-ready=true]")).to_have_count(1)
        answered.append(current.get_attribute("data-transaction"))
        page.keyboard.press(key)
        expect(current).not_to_have_attribute("data-transaction", answered[-1])
    expect(page.locator("[data-stat=labels]")).to_have_text("20")
    assert Label.objects.filter(status="active").count() == 20

    expect(page.locator("#current [data-ready=true]")).to_have_count(1)
    page.keyboard.press("u")
    expect(page.locator("#message")).to_contain_text("Undid tx-019")
    expect(current).to_contain_text("tx-019")
    expect(page.locator("[data-stat=labels]")).to_have_text("19")
    screenshot("annotate-after-undo")
    page.keyboard.press("?")
    expect(page.locator("#keys")).to_be_visible()
    screenshot("annotate-keys")
    page.keyboard.press("?")
    assert page.evaluate("window.__same_page") is True  # no reload, ever

    labels = Label.objects.filter(annotator=bob)
    assert labels.count() == 20 and labels.filter(status="superseded").count() == 1
    active = list(labels.filter(status="active").order_by("created_at", "id"))
    assert [str(label.transaction_id) for label in active] == answered[:19]
    expected_decisions = ["confirm", "reject", "confirm"]
    assert [label.decision for label in active[:3]] == expected_decisions
    suggested = {label.transaction_id: label.transaction.suggested_class.name for label in active}
    for label, key in zip(active, keys, strict=False):
        if key in {"y", "Enter"}:
            assert label.label_class.name == suggested[label.transaction_id]
        elif key == "n":
            assert label.label_class.name != suggested[label.transaction_id]
        else:
            assert label.label_class.name == {"f": "fraud", "l": "legit"}[key]
    assert not QueueEntry.objects.filter(transaction_id__in=[a.transaction_id for a in active])


def test_the_last_answer_brings_the_empty_card_and_then_its_unlabeled_figure(
    page, live_server, bob, screenshot, monkeypatch
):
    monkeypatch.setattr(
        "labeler.services.training_runs.training_request_if_due", lambda **kwargs: None
    )
    entries = queue_of(2)
    TransactionFactory.create_batch(3, import_batch__dataset=entries[0].transaction.dataset)
    log_in(page, live_server.url, "bob", "bob-pass")
    page.goto(f"{live_server.url}/annotate/")
    page.evaluate("window.__same_page = true")
    for _ in entries:
        expect(page.locator("#current [data-ready=true]")).to_have_count(1)
        page.keyboard.press("y")
    empty = page.locator("#current [data-empty]")
    expect(empty).to_contain_text("The queue is empty")
    # Five rows, two of them labeled: the figure the card fetched once it was shown.
    expect(empty.locator("[data-unlabeled]")).to_contain_text(
        "3 transactions in hotkeys have no label yet (counted at"
    )
    screenshot("annotate-empty-queue")
    assert page.evaluate("window.__same_page") is True
    assert Label.objects.filter(annotator=bob, status="active").count() == 2
