"""The API keeps the queue's leases: an item leased to one annotator cannot be answered by
another, and annotators cannot pick transactions outside the queue."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from labeler.models import Label, QueueEntry
from tests.factories import TransactionFactory
from tests.labeler.api.test_api_labels import post_label

pytestmark = pytest.mark.django_db


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def fiona(django_user_model):
    """Fiona annotates beside Bob."""
    from labeler.roles import role_group

    user = django_user_model.objects.create_user("fiona", password="fiona-pass")
    user.groups.add(role_group("annotator"))
    return user


def test_an_item_leased_to_another_annotator_is_refused_with_who_and_until(api, queued, bob, fiona):
    leased = api(bob).post("/api/v1/queue/next/").json()
    row = next(r for r in queued if r.pk == leased["transaction"]["id"])
    refused = post_label(api(fiona), row, key="fiona-1")
    assert refused.status_code == 409
    body = refused.json()
    assert body["leased_to"] == "bob"
    assert moment(body["lease_expires_at"]) == moment(leased["lease_expires_at"])
    assert "is leased to bob until" in body["detail"]
    assert not Label.objects.exists()
    # Bob, who holds it, answers it.
    assert post_label(api(bob), row, key="bob-1").status_code == 201


def test_an_expired_lease_frees_the_item(api, queued, bob, fiona):
    api(bob).post("/api/v1/queue/next/")
    QueueEntry.objects.filter(leased_to=bob).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    row = QueueEntry.objects.get(leased_to=bob).transaction
    assert post_label(api(fiona), row, key="fiona-1").status_code == 201


def test_a_second_opinion_may_be_answered_beside_the_lease(api, queued, bob, fiona):
    entry = QueueEntry.objects.get(transaction=queued[0])
    entry.reason = QueueEntry.Reason.SECOND_OPINION
    entry.leased_to = bob
    entry.lease_expires_at = timezone.now() + timedelta(minutes=5)
    entry.save()
    assert post_label(api(fiona), queued[0], key="fiona-1").status_code == 201


def test_annotators_cannot_label_a_transaction_in_no_queue(api, queued, bob):
    outside = TransactionFactory(import_batch=queued[0].import_batch, external_id="elsewhere")
    refused = post_label(api(bob), outside, key="bob-1")
    assert refused.status_code == 409
    assert "transaction elsewhere is in no annotation queue" in refused.json()["detail"]
    assert not Label.objects.exists()


@pytest.mark.parametrize("persona", ["alice", "dora"])
def test_reviewers_and_staff_label_any_transaction_recorded_as_direct(
    api, queued, persona, request
):
    outside = TransactionFactory(import_batch=queued[0].import_batch, external_id="elsewhere")
    response = post_label(api(request.getfixturevalue(persona)), outside, key="direct-1")
    assert response.status_code == 201
    assert Label.objects.get().queue_reason == "direct"
