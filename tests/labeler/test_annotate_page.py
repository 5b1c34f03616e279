"""The annotator page over HTTP: who may use it, and what an answer's response carries."""

import numpy as np
import pytest
from django.urls import reverse

from labeler.models import Label, ModelVersion, QueueEntry, TrainingPolicy, Transaction
from tests.factories import (
    DatasetFactory,
    LabelFactory,
    ModelVersionFactory,
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
def queue():
    dataset = DatasetFactory(name="page")
    version = ModelVersionFactory(
        dataset=dataset,
        status=ModelVersion.Status.ACTIVE,
        metrics={
            "profiles": {
                "center": [0, 0, 0],
                "scale": [1, 1, 1],
                "classes": {"legit": [0, 0, 0], "fraud": [2, -3, 9]},
            }
        },
    )
    entries = []
    for index in range(3):
        transaction = TransactionFactory(
            import_batch__dataset=dataset,
            external_id=f"card-{index}",
            features=np.array([0.5, -1.0, 9.0], dtype="<f4").tobytes(),
            score=0.97,
            suggested_class=label_class("fraud"),
            scored_by=version,
        )
        entries.append(queue_entry(transaction, priority=10 - index, reason="likely_fraud"))
    return entries


def test_anonymous_users_go_to_login_and_users_without_the_role_get_403(client, charlie):
    url = reverse("annotate")
    response = client.get(url)
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(charlie)
    assert client.get(url).status_code == 403
    assert client.post(reverse("annotate_answer"), {"transaction": 1}).status_code == 403
    assert not Label.objects.exists()


def test_the_page_shows_the_item_its_suggestion_reason_chart_and_the_next_one(client, queue, bob):
    client.force_login(bob)
    page = client.get(reverse("annotate")).content.decode()
    assert "Transaction card-0" in page and "likely fraud" in page
    assert "Fraud</strong> 0.97" in page  # the suggestion with its probability
    assert "<polyline" in page and "typical fraud" in page
    assert "beyond the chart: V3 +9.0" in page
    assert '<div id="next" hidden>' in page and "Transaction card-1" in page
    assert set(QueueEntry.objects.filter(leased_to=bob).values_list("pk", flat=True)) == {
        queue[0].pk,
        queue[1].pk,
    }


def test_an_answer_returns_the_item_after_next_with_stats_and_a_retry_records_nothing_new(
    client, queue, bob
):
    client.force_login(bob)
    client.get(reverse("annotate"))
    data = {
        "transaction": queue[0].transaction_id,
        "action": "reject",
        "token": "tok-1",
        "showing": queue[1].transaction_id,
        "elapsed_ms": "850",
    }
    response = client.post(reverse("annotate_answer"), data, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Transaction card-2" in body  # the item after the one now shown
    assert 'id="stats" class="stats" hx-swap-oob="true"' in body
    assert '<strong data-stat="labels">1</strong>' in body
    label = Label.objects.get()
    assert (label.label_class.name, label.decision, label.time_taken_ms) == ("legit", "reject", 850)
    retry = client.post(reverse("annotate_answer"), data, HTTP_HX_REQUEST="true")
    assert "Already recorded" in retry.content.decode()
    assert Label.objects.count() == 1


def test_undo_brings_the_item_back_as_the_current_one(client, queue, bob):
    client.force_login(bob)
    client.get(reverse("annotate"))
    client.post(
        reverse("annotate_answer"),
        {"transaction": queue[0].transaction_id, "action": "confirm", "token": "t"},
        HTTP_HX_REQUEST="true",
    )
    body = client.post(reverse("annotate_undo"), HTTP_HX_REQUEST="true").content.decode()
    assert "Undid card-0 = Fraud" in body
    current = body.split('<div id="current">')[1].split('<div id="next"')[0]
    assert "Transaction card-0" in current
    assert Label.objects.get().status == "superseded"


def test_an_empty_queue_says_so_and_offers_staff_a_train_button(client, alice):
    dataset = DatasetFactory(name="empty")
    TransactionFactory.create_batch(4, import_batch__dataset=dataset)
    client.force_login(alice)
    page = client.get(reverse("annotate")).content.decode()
    assert "The queue is empty" in page and "Train now" in page
    # The unlabeled figure comes after the card, from its own request.
    assert reverse("annotate_unlabeled", args=[dataset.pk]) in page


def test_the_empty_queue_reads_no_count_and_its_figure_is_recounted_when_labels_change(
    client, alice, bob, monkeypatch, django_user_model
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from labeler.models import memory

    dataset = DatasetFactory(name="empty")
    rows = TransactionFactory.create_batch(6, import_batch__dataset=dataset)
    TransactionFactory.create_batch(3)  # another dataset's rows
    # A second opinion: two active labels on one row; an undone label counts for nothing.
    LabelFactory(transaction=rows[0], annotator=alice)
    LabelFactory(transaction=rows[0], annotator=bob)
    LabelFactory(transaction=rows[1], annotator=bob, status=Label.Status.SUPERSEDED)
    LabelFactory(transaction=rows[2], decision=Label.Decision.IMPORTED)  # a trusted import
    client.force_login(bob)
    table = Transaction._meta.db_table

    def get(url):
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url).content.decode()
        counts = [
            q["sql"]
            for q in captured.captured_queries
            if q["sql"].startswith(f'SELECT COUNT(*) AS "__count" FROM "{table}"')
        ]
        return page, len(counts)

    page, counts = get(reverse("annotate"))
    assert "The queue is empty" in page and counts == 0
    figure = reverse("annotate_unlabeled", args=[dataset.pk])
    page, counts = get(figure)
    assert "4 transactions in empty have no label yet (counted at" in page and counts == 1
    # While no label is written or undone, the figure comes from memory for a minute ...
    page, counts = get(figure)
    assert "4 transactions in empty have no label yet" in page and counts == 0
    # ... a label anywhere has it counted again at once ...
    label = LabelFactory(transaction=rows[3], annotator=alice)
    page, counts = get(figure)
    assert "3 transactions in empty have no label yet" in page and counts == 1
    label.status = Label.Status.SUPERSEDED  # an undo
    label.save()
    page, counts = get(figure)
    assert "4 transactions in empty have no label yet" in page and counts == 1
    # ... and so does a minute gone by (rows may have arrived).
    clock = memory.time.monotonic() + 61
    monkeypatch.setattr(memory.time, "monotonic", lambda: clock)
    page, counts = get(figure)
    assert "4 transactions in empty have no label yet" in page and counts == 1
    client.logout()
    assert client.get(figure).status_code == 302  # to the login page
    client.force_login(django_user_model.objects.create_user("nobody", password="nobody-pass"))
    assert client.get(figure).status_code == 403


def test_with_three_classes_a_reject_needs_the_class_picked_by_digit(client, queue, bob):
    from labeler.models import LabelClass

    chargeback = LabelClass.objects.create(
        name="chargeback", display_name="Chargeback", code="2", hotkey="c", position=2
    )
    client.force_login(bob)
    page = client.get(reverse("annotate")).content.decode()
    assert "data-pick" in page and 'data-digit="3"' in page
    answer = {"transaction": queue[0].transaction_id, "token": "t3"}
    refused = client.post(reverse("annotate_answer"), {**answer, "action": "reject"})
    assert refused.status_code == 400 and not Label.objects.exists()
    client.post(
        reverse("annotate_answer"),
        {**answer, "action": f"class:{chargeback.pk}"},
        HTTP_HX_REQUEST="true",
    )
    label = Label.objects.get()
    assert label.label_class == chargeback and label.decision == "reject"


def test_the_answer_to_the_last_item_brings_the_empty_queue_card(client, queue, bob):
    client.force_login(bob)
    client.get(reverse("annotate"))
    QueueEntry.objects.exclude(pk__in=[queue[0].pk, queue[1].pk]).delete()
    body = client.post(
        reverse("annotate_answer"),
        {
            "transaction": queue[0].transaction_id,
            "action": "confirm",
            "token": "t",
            "showing": queue[1].transaction_id,
        },
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "The queue is empty" in body and "data-transaction" not in body


def test_confirm_records_the_suggestion_the_annotator_saw(client, queue, bob):
    """A new version may change the suggestion while the card is on screen: "confirm" means
    what the card showed, which the page sends back with the answer."""
    client.force_login(bob)
    client.get(reverse("annotate"))
    shown = label_class("legit")  # the card said legit; the active version now says fraud
    client.post(
        reverse("annotate_answer"),
        {
            "transaction": queue[0].transaction_id,
            "action": "confirm",
            "suggested": shown.pk,
            "token": "t",
        },
        HTTP_HX_REQUEST="true",
    )
    assert Label.objects.get().label_class == shown


def test_numbers_no_database_can_hold_are_a_bad_request(client, queue, bob):
    client.force_login(bob)
    answer = {"transaction": "9" * 30, "action": "confirm", "suggested": "1", "token": "t"}
    assert client.post(reverse("annotate_answer"), answer).status_code == 400
    assert client.post(reverse("annotate_skip"), {"transaction": "9" * 30}).status_code == 400
    assert not Label.objects.exists()


def test_the_stats_count_down_to_the_next_retraining_then_say_it_is_queued(client, queue, bob):
    policy = TrainingPolicy.current()
    policy.min_new_labels = 2
    policy.save()
    client.force_login(bob)
    assert (
        "<strong>2</strong> labels until the next retraining"
        in client.get(reverse("annotate")).content.decode()
    )
    body = client.post(
        reverse("annotate_answer"),
        {"transaction": queue[0].transaction_id, "action": "confirm", "token": "t1"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "<strong>1</strong> labels until the next retraining" in body
    assert '<strong data-stat="frauds">1</strong>' in body  # it confirmed a fraud suggestion
    dataset = queue[0].transaction.dataset
    ModelVersion.objects.create(dataset=dataset, status=ModelVersion.Status.QUEUED)
    body = client.post(
        reverse("annotate_answer"),
        {"transaction": queue[1].transaction_id, "action": "confirm", "token": "t2"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "retraining queued" in body and "until the next retraining" not in body
