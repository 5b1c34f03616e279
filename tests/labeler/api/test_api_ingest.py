"""POST /api/v1/datasets/{id}/transactions/: batches as they arrive, checked like an import,
idempotent by id, all new rows or none, within a size limit, for staff and the ingest role."""

from __future__ import annotations

import json

import pytest

from labeler.models import ImportBatch, Transaction
from labeler.roles import role_group
from labeler.services import ingesting
from labeler.services.importing import transactions_import
from tests.labeler.importing_helpers import database_fingerprint, write

pytestmark = pytest.mark.django_db

FIRST_FILE = (
    "id,Time,Amount,V1,V2,merchant_category\n"
    "a-1,0,10.5,0.1,-1.0,grocery\n"
    "a-2,60,99.0,1.5,0.2,travel\n"
    "a-3,120,3.25,-0.7,0.9,grocery\n"
)


@pytest.fixture
def sent(monkeypatch):
    """The import batches handed to the scoring task (after the commit)."""
    batches: list[int] = []
    monkeypatch.setattr(ingesting, "_enqueue", batches.append)
    return batches


@pytest.fixture
def dataset(tmp_path):
    path = write(tmp_path, "first.csv", FIRST_FILE)
    return transactions_import(path=path, dataset_name="cards").dataset


@pytest.fixture
def feeder(django_user_model):
    """The authorisation flow's account: the ingest role, nothing else."""
    user = django_user_model.objects.create_user("feeder")
    user.groups.add(role_group("ingest"))
    return user


def url(dataset) -> str:
    return f"/api/v1/datasets/{dataset.pk}/transactions/"


def item(external_id: str, time: float, amount: float, v1=0.5, v2=-0.5, category="grocery"):
    return {
        "id": external_id,
        "Time": time,
        "Amount": amount,
        "V1": v1,
        "V2": v2,
        "merchant_category": category,
    }


def post_json(client, dataset, items):
    return client.post(url(dataset), data=json.dumps(items), content_type="application/json")


def test_a_json_batch_is_stored_and_handed_to_scoring(
    api, feeder, dataset, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(
            api(feeder), dataset, [item("b-1", 180, 42.0), item("b-2", 240, 7.0, category="fuel")]
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["received"], body["added"], body["already_present"]) == (2, 2, 0)
    batch = ImportBatch.objects.get(pk=body["import_batch"])
    assert batch.imported_by == feeder and batch.row_count == 2
    assert sent == [batch.pk]
    stored = Transaction.objects.get(dataset=dataset, external_id="b-1")
    assert stored.amount == 42.0 and stored.time == 180.0
    # In the first file's layout: the category is encoded as that file's levels ("fuel" is
    # "other"), and kept as written for people.
    assert dataset.feature_names == batch.feature_names
    fuel = Transaction.objects.get(external_id="b-2")
    other = dataset.feature_names.index("merchant_category=other")
    assert fuel.feature_vector[other] == 1.0
    assert fuel.attributes["merchant_category"] == "fuel"


def test_a_retried_batch_adds_nothing_and_says_so(
    api, feeder, dataset, sent, django_capture_on_commit_callbacks
):
    batch = [item("b-1", 180, 42.0), item("b-2", 240, 7.0)]
    with django_capture_on_commit_callbacks(execute=True):
        assert post_json(api(feeder), dataset, batch).status_code == 201
    before = database_fingerprint()
    with django_capture_on_commit_callbacks(execute=True):
        again = post_json(api(feeder), dataset, batch)
    assert again.status_code == 200
    body = again.json()
    assert (body["added"], body["already_present"], body["import_batch"]) == (0, 2, None)
    assert "nothing new" in body["scoring"]
    assert database_fingerprint() == before and len(sent) == 1
    # A batch that repeats some rows and brings new ones adds only the new ones.
    with django_capture_on_commit_callbacks(execute=True):
        mixed = post_json(api(feeder), dataset, [*batch, item("b-3", 300, 1.0)])
    assert mixed.status_code == 201
    assert (mixed.json()["added"], mixed.json()["already_present"]) == (1, 2)
    assert Transaction.objects.filter(dataset=dataset).count() == 6


def test_an_id_sent_again_with_other_values_is_refused_and_nothing_stored(
    api, feeder, dataset, sent
):
    before = database_fingerprint()
    response = post_json(
        api(feeder), dataset, [item("b-9", 500, 1.0), item("a-2", 60, 100.0, v1=1.5, v2=0.2)]
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "item 2" in detail and "'a-2'" in detail and "amount" in detail
    assert database_fingerprint() == before and sent == []


def test_a_bad_row_names_item_and_column_and_stores_nothing(api, feeder, dataset, sent):
    before = database_fingerprint()
    response = post_json(api(feeder), dataset, [item("b-1", 180, 4.0), item("b-2", 240, "lots")])
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("JSON batch, item 2, column 'Amount'"), detail
    assert "line" not in detail  # a JSON array has no lines to point at
    mismatched = post_json(api(feeder), dataset, [item("b-1", 180, 4.0), {"id": "b-2"}])
    assert mismatched.status_code == 400
    assert "item 2: its keys differ" in mismatched.json()["detail"]
    assert database_fingerprint() == before and sent == []


def test_a_csv_body_in_the_files_layout(api, feeder, dataset, sent):
    body = "id,Time,Amount,V1,V2,merchant_category\nc-1,700,5.0,0.0,0.0,travel\n"
    response = api(feeder).post(url(dataset), data=body, content_type="text/csv")
    assert response.status_code == 201, response.content
    missing = api(feeder).post(
        url(dataset),
        data="id,Time,Amount,V1,merchant_category\nc-2,1,1,1,x\n",
        content_type="text/csv",
    )
    assert missing.status_code == 400
    assert "feature column(s) 'V2' missing" in missing.json()["detail"]


def test_past_the_size_limit_is_413(api, feeder, dataset, sent, settings):
    settings.INGEST_MAX_ROWS = 2
    before = database_fingerprint()
    rows = [item(f"b-{i}", 200 + i, 1.0) for i in range(3)]
    response = post_json(api(feeder), dataset, rows)
    assert response.status_code == 413
    assert "INGEST_MAX_ROWS" in response.json()["detail"]
    csv_rows = "id,Time,Amount,V1,V2,merchant_category\n" + "".join(
        f"d-{i},{i},1,0,0,grocery\n" for i in range(3)
    )
    assert api(feeder).post(url(dataset), data=csv_rows, content_type="text/csv").status_code == 413
    settings.INGEST_MAX_ROWS = 10_000
    settings.INGEST_MAX_BYTES = 100
    too_big = post_json(api(feeder), dataset, rows)
    assert too_big.status_code == 413 and "INGEST_MAX_BYTES" in too_big.json()["detail"]
    assert database_fingerprint() == before


def test_who_may_send_batches(api, alice, bob, charlie, feeder, dataset, sent):
    rows = [item("b-1", 180, 42.0)]
    assert post_json(api(None), dataset, rows).status_code == 401
    assert post_json(api(bob), dataset, rows).status_code == 403  # an annotator
    assert post_json(api(charlie), dataset, rows).status_code == 403
    assert post_json(api(alice), dataset, rows).status_code == 201  # staff
    # The ingest role sends batches and sees nothing else.
    assert api(feeder).get("/api/v1/transactions/").status_code == 403
    assert api(feeder).get("/api/v1/queue/next/").status_code == 403
    assert api(feeder).post(f"/api/v1/datasets/{dataset.pk + 99}/transactions/").status_code == 404


def test_other_body_types_and_datasets_without_ids(api, feeder, dataset, sent, tmp_path):
    form = api(feeder).post(url(dataset), data={"id": "x"})
    assert form.status_code == 415
    numbered = transactions_import(
        path=write(tmp_path, "plain.csv", "Time,Amount,V1\n0,1,2\n"), dataset_name="plain"
    ).dataset
    response = api(feeder).post(
        url(numbered),
        data=json.dumps([{"Time": 1, "Amount": 2, "V1": 3}]),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "without an id column" in response.json()["detail"]
    assert Transaction.objects.filter(dataset=numbered).count() == 1
