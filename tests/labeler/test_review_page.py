"""The review page, the reviewer's admin and the quality dashboard over HTTP."""

import numpy as np
import pytest
from django.urls import reverse

from labeler.models import Label, ModelVersion, QueueEntry, Review, ReviewItem, ReviewPolicy
from labeler.services.labeling import label_submit
from tests.factories import (
    DatasetFactory,
    ModelVersionFactory,
    PseudoLabelFactory,
    TransactionFactory,
    label_class,
    queue_entry,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_training(monkeypatch):
    monkeypatch.setattr(
        "labeler.services.training_runs.training_request_if_due", lambda **kwargs: None
    )


@pytest.fixture
def version():
    return ModelVersionFactory(
        dataset=DatasetFactory(name="review-page"),
        status=ModelVersion.Status.ACTIVE,
        metrics={
            "profiles": {
                "center": [0, 0, 0],
                "scale": [1, 1, 1],
                "classes": {"legit": [0, 0, 0], "fraud": [2, -3, 1]},
            }
        },
    )


@pytest.fixture
def rejected(version, bob):
    """Three transactions where Bob rejected a confident fraud suggestion."""
    rows = []
    for index in range(3):
        row = TransactionFactory(
            import_batch__dataset=version.dataset,
            external_id=f"rej-{index}",
            features=np.array([0.5, -1.0, 2.0], dtype="<f4").tobytes(),
            score=0.96,
            suggested_class=label_class("fraud"),
            scored_by=version,
        )
        queue_entry(row, priority=1, reason="likely_fraud")
        label_submit(
            user=bob, transaction_id=row.pk, label_class=label_class("legit"), request_token="t"
        )
        rows.append(row)
    return rows


def test_annotators_and_outsiders_are_refused_the_review_page_and_the_admin(
    client, bob, charlie, rejected
):
    label = Label.objects.first()
    pages = [reverse("review"), reverse("review_quality")]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302 and "login" in response["Location"]
    for user in (bob, charlie):
        client.force_login(user)
        for page in pages:
            assert client.get(page).status_code == 403
        answer = {"transaction": rejected[0].pk, "action": "confirm", "token": "x"}
        assert client.post(reverse("review_answer"), answer).status_code == 403
        for admin_page in (
            reverse("admin:labeler_label_change", args=[label.pk]),
            reverse("admin:labeler_label_changelist"),
            reverse("admin:labeler_transaction_change", args=[rejected[0].pk]),
        ):
            response = client.get(admin_page)
            assert response.status_code == 302 and "/admin/login/" in response["Location"]
        refused = client.post(
            reverse("admin:labeler_label_changelist"),
            {"action": "overrule_to_fraud", "_selected_action": [label.pk]},
        )
        assert refused.status_code == 302
    assert not Review.objects.exists()
    assert ReviewItem.objects.filter(resolved_at__isnull=True).count() == 3


def test_the_page_shows_the_item_with_every_opinion_and_the_next_one(client, dora, rejected):
    client.force_login(dora)
    page = client.get(reverse("review")).content.decode()
    assert "Transaction rej-0" in page and "rejected a confident suggestion" in page
    assert "Agree: legitimate" in page and "Overrule" in page
    assert "bob" in page and "rejected the suggestion" in page and "0.96" in page
    assert "<polyline" in page
    assert '<div id="next" hidden>' in page and "Transaction rej-1" in page
    assert ReviewItem.objects.filter(leased_to=dora).count() == 2


def test_an_overrule_by_hotkey_answer_records_reviews_and_returns_the_item_after_next(
    client, dora, rejected
):
    client.force_login(dora)
    client.get(reverse("review"))
    data = {
        "transaction": rejected[0].pk,
        "action": "reject",
        "token": "v-1",
        "showing": rejected[1].pk,
    }
    body = client.post(reverse("review_answer"), data, HTTP_HX_REQUEST="true").content.decode()
    assert "Transaction rej-2" in body
    assert '<strong data-stat="reviews">1</strong>' in body
    assert '<strong data-stat="overrules">1</strong>' in body
    review = Review.objects.get()
    assert (review.verdict, review.new_class.name) == ("overrule", "fraud")
    assert Label.objects.get(transaction=rejected[0]).status == "overruled"
    retry = client.post(reverse("review_answer"), data, HTTP_HX_REQUEST="true")
    assert "Already recorded" in retry.content.decode()
    assert Review.objects.count() == 1


def test_undo_brings_the_item_back_as_the_current_one(client, dora, rejected):
    client.force_login(dora)
    client.get(reverse("review"))
    client.post(
        reverse("review_answer"),
        {"transaction": rejected[0].pk, "action": "confirm", "token": "t"},
        HTTP_HX_REQUEST="true",
    )
    body = client.post(reverse("review_undo"), HTTP_HX_REQUEST="true").content.decode()
    assert "Took back the verdict on rej-0" in body
    current = body.split('<div id="current">')[1].split('<div id="next"')[0]
    assert "Transaction rej-0" in current
    assert Review.objects.get().status == "withdrawn"


def test_admin_actions_agree_overrule_and_send_back(client, dora, bob, rejected):
    client.force_login(dora)
    labels = list(Label.objects.order_by("transaction_id"))
    changelist = reverse("admin:labeler_label_changelist")
    page = client.get(changelist).content.decode()
    assert "Overrule to Fraud" in page and "Send back to the queue" in page
    assert "Delete selected" not in page
    client.post(changelist, {"action": "agree", "_selected_action": [labels[0].pk]})
    client.post(changelist, {"action": "overrule_to_fraud", "_selected_action": [labels[1].pk]})
    client.post(changelist, {"action": "send_back", "_selected_action": [labels[2].pk]})
    verdicts = dict(Review.objects.values_list("label_id", "verdict"))
    assert verdicts == {labels[0].pk: "agree", labels[1].pk: "overrule", labels[2].pk: "send_back"}
    statuses = [label.status for label in Label.objects.order_by("transaction_id")]
    assert statuses == ["active", "overruled", "active"]
    assert QueueEntry.objects.get(transaction=rejected[2]).reason == "second_opinion"
    # The two settled transactions left the review queue; the one sent back waits there.
    assert list(
        ReviewItem.objects.filter(resolved_at__isnull=True).values_list("transaction", flat=True)
    ) == [rejected[2].pk]
    delete = reverse("admin:labeler_label_delete", args=[labels[0].pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Label.objects.count() == 3


def test_reviewers_cannot_add_or_edit_the_policies(client, dora):
    client.force_login(dora)
    for url in ("/admin/labeler/trainingpolicy/add/", "/admin/labeler/reviewpolicy/add/"):
        assert client.get(url).status_code == 403
    assert "trainingpolicy" not in client.get("/admin/").content.decode()


def test_the_admin_filters_labels_that_disagree_with_the_model(client, dora, rejected, bob):
    client.force_login(dora)
    url = reverse("admin:labeler_label_changelist")
    assert "3 labels" in client.get(url, {"disagrees": "yes"}).content.decode()
    assert "0 labels" in client.get(url, {"disagrees": "no"}).content.decode()


def test_a_transaction_page_shows_its_whole_history(client, dora, rejected):
    client.force_login(dora)
    client.get(reverse("review"))
    client.post(
        reverse("review_answer"),
        {"transaction": rejected[0].pk, "action": "reject", "token": "t"},
        HTTP_HX_REQUEST="true",
    )
    page = client.get(
        reverse("admin:labeler_transaction_change", args=[rejected[0].pk])
    ).content.decode()
    assert "Labels" in page and "overruled" in page
    assert "Reviews" in page and "overrule" in page
    assert "Review items" in page and "rejected a confident suggestion" in page
    assert "Scores by model version" in page and "no model file was saved" in page


def test_the_dashboard_figures_on_a_known_small_case(client, alice, bob, dora, version):
    """Bob: 4 labels, 3 reviewed (2 agreed, 1 overruled). v1's spot checks: legit 3 of 3
    right, fraud 1 of 2; it wrote 90 legit and 10 fraud pseudo-labels, so 0.95 overall."""
    ReviewPolicy.objects.update_or_create(pk=1, defaults={"confident_threshold": 0.99})
    rows = []
    for _ in range(4):
        row = TransactionFactory(import_batch__dataset=version.dataset)
        queue_entry(row, priority=1, reason="uncertain")
        label_submit(
            user=bob, transaction_id=row.pk, label_class=label_class("legit"), request_token="b"
        )
        rows.append(row)
    from labeler.services.review import transaction_review

    for row, verdict in zip(rows[:3], ["legit", "legit", "fraud"], strict=True):
        transaction_review(reviewer=dora, transaction_id=row.pk, label_class=label_class(verdict))
    version.training_counts = {"pseudo_labels_by_class": {"legit": 90, "fraud": 10}}
    version.save()
    checks = [("legit", "legit")] * 3 + [("fraud", "fraud"), ("fraud", "legit")]
    for written, truth in checks:
        pseudo = PseudoLabelFactory(
            model_version=version,
            label_class=label_class(written),
            transaction__import_batch__dataset=version.dataset,
        )
        ReviewItem.objects.create(
            transaction=pseudo.transaction, reason="spot_check", pseudo_label=pseudo
        )
        transaction_review(
            reviewer=dora,
            transaction_id=pseudo.transaction_id,
            label_class=label_class(truth),
            pseudo_label=pseudo,
        )
    ReviewItem.objects.create(transaction=rows[3], reason="four_eyes")

    from labeler.pages.review_quality import (
        annotator_quality,
        pseudo_label_precision,
        review_backlog,
    )

    (bob_row,) = annotator_quality()
    assert (bob_row.annotator, bob_row.labels, bob_row.reviewed) == ("bob", 4, 3)
    assert (bob_row.agreed, bob_row.overruled) == (2, 1)
    assert bob_row.overrule_rate == pytest.approx(1 / 3)
    (v1,) = pseudo_label_precision()
    by_class = {c.label_class: (c.checked, c.correct) for c in v1.classes}
    assert by_class == {"legit": (3, 3), "fraud": (2, 1)}
    assert v1.precision == pytest.approx((90 * 1.0 + 10 * 0.5) / 100)
    backlog = review_backlog()
    assert backlog.total == 1 and ("four eyes on fraud", 1) in backlog.by_reason

    client.force_login(alice)
    page = client.get(reverse("review_quality")).content.decode()
    assert "Waiting for review: 1" in page
    assert "<td>bob</td>" in page and "33%" in page and "67%" in page
    assert "0.950" in page


def test_an_items_history_is_read_in_a_fixed_number_of_queries(
    client, bob, dora, rejected, version
):
    """No query per label, pseudo-label or review shown: a long history costs what a short one
    does."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import LabelFactory

    client.force_login(dora)

    def queries_for_the_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("review")).status_code == 200
        return len(captured)

    queries_for_the_page()  # leases the items and starts the session: the same work from here
    short = queries_for_the_page()
    for row in rejected:
        for index in range(3):
            LabelFactory(
                transaction=row,
                annotator=bob,
                label_class=label_class("fraud"),
                status=Label.Status.SUPERSEDED,
                request_token=f"old-{index}",
            )
            PseudoLabelFactory(
                transaction=row, model_version=ModelVersionFactory(dataset=version.dataset)
            )
    assert queries_for_the_page() == short


def test_agree_keeps_the_claim_the_card_showed_and_without_one_records_nothing(
    client, dora, rejected
):
    client.force_login(dora)
    page = client.get(reverse("review")).content.decode()
    legit = label_class("legit")
    assert f'data-suggested="{legit.pk}"' in page  # the card carries the claim under review
    agree = {"transaction": rejected[0].pk, "action": "confirm", "suggested": legit.pk}
    client.post(reverse("review_answer"), {**agree, "token": "a-1"}, HTTP_HX_REQUEST="true")
    review = Review.objects.get()
    assert (review.verdict, review.label.label_class.name) == ("agree", "legit")
    nothing = {"transaction": rejected[1].pk, "action": "confirm", "suggested": ""}
    body = client.post(
        reverse("review_answer"), {**nothing, "token": "a-2"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "that verdict needs a class" in body
    assert Review.objects.count() == 1
