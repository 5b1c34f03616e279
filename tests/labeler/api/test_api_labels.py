"""The API's labels, queue and reviews: roles, idempotency keys, refusals."""

import pytest

from labeler.models import IdempotencyKey, Label, QueueEntry, Review, Transaction

pytestmark = pytest.mark.django_db


def post_label(client, row, name="legit", key="k-1", **extra):
    return client.post(
        "/api/v1/labels/",
        {"transaction": row.pk, "label_class": name, **extra},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_anonymous_and_outsiders_are_refused_everywhere(api, queued, charlie):
    for client, code in ((api(None), 401), (api(charlie), 403)):
        assert client.get("/api/v1/labels/").status_code == code
        assert client.get("/api/v1/transactions/").status_code == code
        assert client.post("/api/v1/queue/next/").status_code == code
        assert post_label(client, queued[0]).status_code == code
        assert client.get("/api/v1/reviews/").status_code == code
        assert client.get("/api/v1/model-versions/").status_code == code
    assert not Label.objects.exists()


def test_datasets_list_their_features_and_sizes(api, queued, bob, charlie):
    assert api(charlie).get("/api/v1/datasets/").status_code == 403
    (dataset,) = api(bob).get("/api/v1/datasets/").json()
    assert (dataset["name"], dataset["transaction_count"]) == ("api", 4)
    assert dataset["feature_names"] == ["V1", "V2", "V3"]


def test_the_next_item_is_leased_with_its_suggestion(api, queued, bob):
    response = api(bob).post("/api/v1/queue/next/")
    assert response.status_code == 200
    item = response.json()
    assert item["transaction"]["external_id"] == "api-0"
    assert item["transaction"]["features"] == [0.0, -1.5, 0.25]
    assert (item["reason"], item["suggested_class"]) == ("uncertain", "fraud")
    assert item["suggested_probability"] == pytest.approx(0.9)
    assert item["lease_expires_at"]
    assert api(bob).post("/api/v1/queue/next/").json()["transaction"]["id"] == queued[0].pk
    QueueEntry.objects.all().delete()
    assert api(bob).post("/api/v1/queue/next/").status_code == 204


def test_a_label_is_written_once_per_idempotency_key(api, queued, bob):
    client = api(bob)
    first = post_label(client, queued[0], time_taken_ms=1200)
    assert first.status_code == 201
    body = first.json()
    assert (body["label_class"], body["decision"], body["annotator"]) == ("legit", "reject", "bob")
    again = post_label(client, queued[0], time_taken_ms=1200)
    assert again.status_code == 201 and again.json() == body
    assert again["Idempotent-Replayed"] == "true"
    assert Label.objects.count() == 1
    other = post_label(client, queued[1], key="k-1")  # the same key for another request
    assert other.status_code == 422 and "another request" in other.json()["detail"]
    assert Label.objects.count() == 1


def test_a_label_needs_a_key_a_known_transaction_and_class(api, queued, bob):
    client = api(bob)
    no_key = client.post(
        "/api/v1/labels/", {"transaction": queued[0].pk, "label_class": "legit"}, format="json"
    )
    assert no_key.status_code == 400 and "Idempotency-Key" in no_key.json()
    assert post_label(client, queued[0], name="chargeback").status_code == 400
    missing = client.post(
        "/api/v1/labels/",
        {"transaction": 10**9, "label_class": "legit"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="x",
    )
    assert missing.status_code == 400 and "no transaction" in str(missing.json())
    assert not Label.objects.exists() and not IdempotencyKey.objects.exists()


def test_a_second_annotator_gets_409_and_annotators_list_only_their_own(api, queued, bob, alice):
    assert post_label(api(bob), queued[0]).status_code == 201
    late = post_label(api(alice), queued[0], name="fraud")
    assert late.status_code == 409 and "bob labeled" in late.json()["detail"]
    assert post_label(api(alice), queued[1], key="k-2").status_code == 201
    mine = api(bob).get("/api/v1/labels/").json()
    assert [row["annotator"] for row in mine["results"]] == ["bob"]
    everyone = api(alice).get("/api/v1/labels/", {"annotator": "bob"}).json()
    assert len(everyone["results"]) == 1
    assert len(api(alice).get("/api/v1/labels/").json()["results"]) == 2


def test_reviews_need_the_reviewer_role_and_settle_the_transaction(api, queued, bob, dora):
    post_label(api(bob), queued[0])
    verdict = {"transaction": queued[0].pk, "label_class": "fraud", "note": "chargeback came in"}
    refused = api(bob).post("/api/v1/reviews/", verdict, format="json", HTTP_IDEMPOTENCY_KEY="r")
    assert refused.status_code == 403
    response = api(dora).post(
        "/api/v1/reviews/", verdict, format="json", HTTP_IDEMPOTENCY_KEY="r-1"
    )
    assert response.status_code == 201
    (review,) = response.json()
    assert (review["verdict"], review["new_class"], review["reviewer"]) == (
        "overrule",
        "fraud",
        "dora",
    )
    assert Label.objects.get().status == "overruled"
    again = api(dora).post("/api/v1/reviews/", verdict, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert again.json() == response.json() and Review.objects.count() == 1
    listed = api(dora).get("/api/v1/reviews/", {"verdict": "overrule"}).json()["results"]
    assert [row["id"] for row in listed] == [review["id"]]
    nothing = api(dora).post(
        "/api/v1/reviews/",
        {"transaction": queued[3].pk, "label_class": "fraud"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="r-2",
    )
    assert nothing.status_code == 409 and "no label" in nothing.json()["detail"]


def test_transactions_filter_and_page_by_cursor(api, queued, bob):
    client = api(bob)
    post_label(client, queued[0])
    page = client.get("/api/v1/transactions/", {"page_size": 2}).json()
    assert [row["external_id"] for row in page["results"]] == ["api-0", "api-1"]
    following = client.get(page["next"]).json()
    assert [row["external_id"] for row in following["results"]] == ["api-2", "api-3"]
    assert following["next"] is None
    labeled = client.get("/api/v1/transactions/", {"labeled": "true"}).json()["results"]
    assert [row["external_id"] for row in labeled] == ["api-0"]
    risky = client.get("/api/v1/transactions/", {"score_min": 0.6, "queued": "true"}).json()
    assert [row["external_id"] for row in risky["results"]] == ["api-1"]
    assert client.get(f"/api/v1/transactions/{queued[2].pk}/").json()["suggested_class"] == "legit"
    assert client.get("/api/v1/transactions/", {"score_min": "high"}).status_code == 400


def test_ids_and_page_sizes_no_database_can_take_are_refused_or_clamped(api, queued, bob):
    client = api(bob)
    assert client.get(f"/api/v1/transactions/{'9' * 25}/").status_code == 404
    huge = client.get("/api/v1/model-versions/", {"limit": 10**20, "offset": 10**20})
    assert huge.status_code == 200 and huge.json()["results"] == []
    assert client.get("/api/v1/transactions/", {"page_size": 10**20}).status_code == 200


def test_values_no_database_can_store_are_refused_before_they_reach_it(api, queued, bob, alice):
    client = api(bob)
    assert post_label(client, queued[0], key="bad\x00key").status_code == 400
    nul_class = post_label(client, queued[0], name="fr\x00aud")
    assert nul_class.status_code == 400 and "label_class" in nul_class.json()
    verdict = {"transaction": queued[0].pk, "label_class": "\x00"}
    assert api(alice).post("/api/v1/reviews/", verdict, HTTP_IDEMPOTENCY_KEY="r").status_code == 400
    odd_offset = client.get("/api/v1/labels/", {"created_after": "2026-01-01T00:00:00-22:21"})
    assert odd_offset.status_code == 200  # taken to UTC
    too_early = client.get("/api/v1/labels/", {"created_after": "0001-01-01T00:00:00+05:00"})
    assert too_early.status_code == 400
    export = api(alice).get("/api/v1/exports/labels/", {"dataset": "a\x00b"})
    assert export.status_code == 400 and "not a dataset name" in export.json()["detail"]
    assert not Label.objects.exists()


def test_an_answer_reads_only_what_it_writes_from(api, queued, bob, django_assert_max_num_queries):
    """Lease and answer through the API in 14 statements: the lease authenticates (1), takes the
    item (1 UPDATE) and reads it with its transaction (1; the classes, versions and dataset come
    from memory); the answer authenticates (1), claims its key (1 INSERT), reads the transaction
    once under a lock (no separate check that it exists) and its labels without their
    annotators (2), writes the label and removes the queue entry (2) and stores the key's
    response (1), in a transaction with a savepoint inside (4). A statement added to this path
    is CPU spent on every answer."""
    client = api(bob)

    def lease_and_answer(key: str):
        item = client.post("/api/v1/queue/next/").json()
        return post_label(client, Transaction(pk=item["transaction"]["id"]), key=key)

    assert lease_and_answer("warm").status_code == 201  # the classes and versions remembered
    with django_assert_max_num_queries(14):
        assert lease_and_answer("measured").status_code == 201
    missing = post_label(client, Transaction(pk=10**9), key="k-2")
    assert missing.json() == {"transaction": ["no transaction has id 1000000000"]}
    assert not IdempotencyKey.objects.filter(key="k-2").exists()
