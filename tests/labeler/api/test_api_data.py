"""The API's imports, model versions, training and exports."""

import io
import json

import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeler.models import ModelVersion, Transaction
from labeler.services import training_runs
from tests.factories import DatasetFactory, ModelVersionFactory
from tests.labeler.importing_helpers import database_fingerprint, reference_csv

pytestmark = pytest.mark.django_db


def upload(client, content: str, name="cards.csv", **fields):
    data = {"file": SimpleUploadedFile(name, content.encode()), "dataset": "cards", **fields}
    return client.post("/api/v1/imports/", data, format="multipart")


def test_only_staff_import_and_a_good_file_returns_its_batch(api, alice, bob):
    assert upload(api(bob), reference_csv()).status_code == 403
    response = upload(api(alice), reference_csv(rows=6), label_mode="reference")
    assert response.status_code == 201
    batch = response.json()
    assert (batch["row_count"], batch["label_count"], batch["imported_by"]) == (6, 6, "alice")
    assert Transaction.objects.filter(dataset__name="cards").count() == 6
    assert api(alice).get("/api/v1/imports/").json()["results"][0]["id"] == batch["id"]


def test_a_bad_upload_names_row_and_column_and_changes_nothing(api, alice):
    before = database_fingerprint()
    broken = reference_csv().replace(",0.0200,", ",oops,", 1)
    response = upload(api(alice), broken, name="broken.csv")
    assert response.status_code == 400
    assert (
        "broken.csv, row 1 (line 2), column 'V3': 'oops' is not a number"
        in (response.json()["detail"])
    )
    assert upload(api(alice), reference_csv(), label_mode="maybe").status_code == 400
    assert database_fingerprint() == before


def test_model_versions_list_with_their_metrics(api, bob):
    dataset = DatasetFactory(name="mv")
    ModelVersionFactory(
        dataset=dataset,
        status=ModelVersion.Status.ACTIVE,
        metrics={"cross_validation": {"average_precision": 0.71}},
        training_counts={"human_labels": 300},
    )
    ModelVersionFactory(dataset=dataset, status=ModelVersion.Status.FAILED, error="boom")
    versions = api(bob).get("/api/v1/model-versions/").json()["results"]
    assert [v["status"] for v in versions] == ["failed", "active"]
    assert versions[1]["metrics"]["cross_validation"]["average_precision"] == 0.71
    assert versions[1]["dataset"] == "mv"
    only_active = api(bob).get("/api/v1/model-versions/", {"status": "active"}).json()
    assert len(only_active["results"]) == 1
    detail = api(bob).get(f"/api/v1/model-versions/{versions[0]['id']}/").json()
    assert detail["error"] == "boom"


def test_staff_start_training_once_and_everyone_follows_its_progress(api, alice, bob, monkeypatch):
    monkeypatch.setattr(training_runs, "_enqueue", lambda version_id: None)
    dataset = DatasetFactory(name="train-api")
    url = f"/api/v1/datasets/{dataset.pk}/training/"
    assert api(bob).post(url).status_code == 403
    first = api(alice).post(url)
    assert first.status_code == 202 and first.json()["created"] is True
    second = api(alice).post(url).json()
    assert second == {"version": first.json()["version"], "created": False}  # single flight
    progress = api(bob).get(url).json()
    assert progress["run"]["id"] == second["version"] and progress["run"]["status"] == "queued"
    assert progress["active"] is None and progress["dataset"] == "train-api"
    assert ModelVersion.objects.get().trigger == "api"
    assert api(bob).get("/api/v1/datasets/999999/training/").status_code == 404


def test_exports_stream_in_three_formats_for_reviewers_only(api, alice, bob):
    upload(api(alice), reference_csv(rows=5), label_mode="reference")
    url = "/api/v1/exports/labels/"
    assert api(bob).get(url).status_code == 403
    response = api(alice).get(url, {"format": "csv", "dataset": "cards"})
    assert response.status_code == 200 and response.streaming
    assert 'filename="fraudloop-labels-cards.csv"' in response["Content-Disposition"]
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("transaction_id,external_id,dataset,time,amount,human_label,")
    assert len(lines) == 6
    jsonl = api(alice).get(url, {"format": "jsonl"})
    rows = [json.loads(line) for line in b"".join(jsonl.streaming_content).splitlines()]
    assert len(rows) == 5 and rows[0]["human_label"] is None and rows[0]["label_source"] == ""
    parquet = api(alice).get(url, {"format": "parquet"})
    table = pq.read_table(io.BytesIO(b"".join(parquet.streaming_content)))
    assert table.num_rows == 5 and "reviewer_label" in table.column_names
    assert api(alice).get(url, {"format": "xlsx"}).status_code == 400
    assert api(alice).get(url, {"dataset": "nope"}).status_code == 400


def test_the_schema_and_its_docs_pages_are_served_without_a_cdn(client, bob):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    body = schema.content.decode()
    assert "/api/v1/labels/" in body and "Idempotency-Key" in body
    client.force_login(bob)
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()
    assert "/static/drf_spectacular_sidecar/" in docs
