"""One Idempotency-Key sent twice at the same instant, from two connections: one label, and
both answers name it (the second is the first one's response, or waits for it). CI runs this on
PostgreSQL (the key's row lock) and SQLite (the database write lock)."""

import threading

import pytest
from django.db import connection

from labeler.models import IdempotencyKey, Label
from labeler.services.labeling import queue_next_item
from tests.labeler.api.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_same_key_twice_at_once_records_one_label(queued, bob):
    item = queue_next_item(user=bob)
    barrier = threading.Barrier(2)
    responses = [None, None]

    def send(index):
        try:
            client = client_for(bob)
            barrier.wait(timeout=10)
            responses[index] = client.post(
                "/api/v1/labels/",
                {"transaction": item.transaction_id, "label_class": "fraud"},
                format="json",
                HTTP_IDEMPOTENCY_KEY="same-key-at-once",
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(response.status_code for response in responses)
    assert statuses in ([200, 201], [201, 201]), statuses
    assert {response.json()["id"] for response in responses} == {Label.objects.get().pk}
    assert IdempotencyKey.objects.filter(key="same-key-at-once").count() == 1
