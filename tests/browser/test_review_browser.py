"""A reviewer works through the review queue with hotkeys only, undoes a verdict, and the
database agrees: reviews written, overruled labels marked, items resolved."""

import numpy as np
import pytest
from playwright.sync_api import expect

from labeler.models import Label, LabelClass, ModelVersion, Review, ReviewItem
from labeler.services.labeling import label_submit
from tests.browser.conftest import log_in
from tests.factories import DatasetFactory, ModelVersionFactory, TransactionFactory, queue_entry

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def confident_rejects(annotator, count: int) -> list[int]:
    """Transactions where the annotator rejected a confident suggestion: review items."""

    legit, fraud = LabelClass.objects.get(name="legit"), LabelClass.objects.get(name="fraud")
    dataset = DatasetFactory(name="reviewing")
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
    rng = np.random.default_rng(1)
    ids = []
    for index in range(count):
        suggested = fraud if index % 2 == 0 else legit
        row = TransactionFactory(
            import_batch__dataset=dataset,
            external_id=f"rv-{index:02d}",
            amount=float(rng.integers(1, 900)),
            features=rng.normal(size=3).astype("<f4").tobytes(),
            score=0.95 if suggested == fraud else 0.03,
            suggested_class=suggested,
            scored_by=version,
        )
        queue_entry(row, priority=1, reason="uncertain")
        label_submit(
            user=annotator,
            transaction_id=row.pk,
            label_class=legit if suggested == fraud else fraud,
            request_token=f"t{index}",
        )
        ids.append(row.pk)
    return ids


def test_a_reviewer_works_the_queue_by_keyboard(
    page, live_server, bob, dora, monkeypatch, screenshot
):
    monkeypatch.setattr(
        "labeler.services.training_runs.training_request_if_due", lambda **kwargs: None
    )
    confident_rejects(bob, 8)
    assert ReviewItem.objects.filter(resolved_at__isnull=True).count() == 8
    log_in(page, live_server.url, "dora", "dora-pass")
    page.goto(f"{live_server.url}/review/")
    page.evaluate("window.__same_page = true")
    current = page.locator("#current [data-transaction]")
    expect(current).to_contain_text("rv-00")
    expect(current).to_contain_text("rejected a confident suggestion")
    screenshot("review-first-item")

    keys = ["y", "n", "Enter", "f", "l", "n"]  # agree, overrule, agree, fraud, legit, overrule
    answered = []
    for key in keys:
        expect(page.locator("#current [data-ready=true]")).to_have_count(1)
        answered.append(int(current.get_attribute("data-transaction")))
        page.keyboard.press(key)
        expect(current).not_to_have_attribute("data-transaction", str(answered[-1]))
    expect(page.locator("[data-stat=reviews]")).to_have_text("6")
    expect(page.locator("[data-stat=waiting]")).to_have_text("2")

    expect(page.locator("#current [data-ready=true]")).to_have_count(1)
    page.keyboard.press("u")
    expect(page.locator("#message")).to_contain_text("Took back the verdict on rv-05")
    expect(current).to_contain_text("rv-05")
    expect(page.locator("[data-stat=reviews]")).to_have_text("5")
    screenshot("review-after-undo")
    assert page.evaluate("window.__same_page") is True  # no reload, ever

    labels = {label.transaction_id: label for label in Label.objects.select_related("label_class")}
    # The annotator's class, and what each key made of it.
    expected = []
    for transaction_id, key in zip(answered[:5], keys[:5], strict=True):
        own = labels[transaction_id].label_class.name
        other = "fraud" if own == "legit" else "legit"
        chosen = {"y": own, "Enter": own, "n": other, "f": "fraud", "l": "legit"}[key]
        expected.append((transaction_id, chosen, "active" if chosen == own else "overruled"))
    got = [
        (
            t,
            ReviewItem.objects.get(transaction_id=t, resolved_at__isnull=False).resolved_class.name,
            labels[t].status,
        )
        for t in answered[:5]
    ]
    assert got == expected
    reviews = Review.objects.filter(reviewer=dora)
    assert reviews.filter(status="active").count() == 5
    assert reviews.filter(status="withdrawn").count() == 1  # the undone verdict, kept
    assert Label.objects.get(transaction_id=answered[5]).status == "active"  # restored
    assert ReviewItem.objects.filter(resolved_at__isnull=True).count() == 3

    page.goto(f"{live_server.url}/review/quality/")
    bob_row = page.locator("#annotators tbody tr")
    expect(bob_row).to_contain_text("bob")
    expect(page.locator("#backlog h2")).to_contain_text("Waiting for review: 3")
    screenshot("review-quality")

    page.goto(f"{live_server.url}/admin/labeler/transaction/{answered[1]}/change/")
    expect(page.locator("body")).to_contain_text("Scores by model version")
    expect(page.locator("#reviews-group")).to_contain_text("overrule")
    screenshot("review-admin-transaction")
