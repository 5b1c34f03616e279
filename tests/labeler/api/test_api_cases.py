"""POST /api/v1/cases/: the held item and its card's transactions in one request."""

import pytest
from django.contrib.auth import get_user_model

from labeler.models import Label, QueueEntry
from labeler.services.leasing import lease_expiry
from tests.factories import (
    DatasetFactory,
    ImportBatchFactory,
    LabelFactory,
    TransactionFactory,
    label_class,
    queue_entry,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def card_rows():
    batch = ImportBatchFactory(dataset=DatasetFactory(name="cards"))
    rows = [TransactionFactory(import_batch=batch, time=float(i), card_key="c1") for i in range(6)]
    queue_entry(rows[-1], priority=1.0, reason="likely_fraud")
    return rows


def post_case(client, held, case, key="case-key-1", name="fraud"):
    return client.post(
        "/api/v1/cases/",
        {"transaction": held.pk, "label_class": name, "case": [row.pk for row in case]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_a_case_is_written_once_and_names_what_was_left_out(api, card_rows, bob, charlie):
    carol = get_user_model().objects.create_user("carol")
    LabelFactory(transaction=card_rows[1], annotator=carol, label_class=label_class("legit"))
    assert api(charlie).post("/api/v1/cases/", {}, format="json").status_code == 403
    client = api(bob)
    assert client.post("/api/v1/queue/next/").json()["transaction"]["id"] == card_rows[-1].pk
    response = post_case(client, card_rows[-1], card_rows[:5])
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["labels"][0]["transaction"] == card_rows[-1].pk
    assert len(body["labels"]) == 5
    assert body["left_out"] == [
        {"external_id": card_rows[1].external_id, "reason": body["left_out"][0]["reason"]}
    ]
    assert "carol labeled" in body["left_out"][0]["reason"]
    again = post_case(client, card_rows[-1], card_rows[:5])
    assert again.status_code == 201 and again.json() == body  # the key's stored answer
    assert Label.objects.filter(annotator=bob).count() == 5


def test_a_held_item_leased_to_another_refuses_the_whole_case(api, card_rows, bob, dora):
    QueueEntry.objects.filter(transaction=card_rows[-1]).update(
        leased_to=dora, lease_expires_at=lease_expiry()
    )
    response = post_case(api(bob), card_rows[-1], card_rows[:3])
    assert response.status_code == 409
    assert response.json()["leased_to"] == "dora"
    assert not Label.objects.exists()


def test_bad_cases_are_400(api, card_rows, bob):
    client = api(bob)
    for body in (
        {"transaction": card_rows[-1].pk, "label_class": "fraud", "case": ["x"]},
        {"transaction": card_rows[-1].pk, "label_class": "fraud", "case": list(range(1, 300))},
        {"transaction": card_rows[-1].pk, "label_class": "nope", "case": []},
    ):
        response = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 400, body
    assert not Label.objects.exists()
