"""/api/v1/synthesis-runs/: staff request a copy (checked at once, run by a worker), follow it,
read its report and download the file; nobody else may."""

from __future__ import annotations

import pytest

from labeler.models import SynthesisRun
from labeler.services.synthesis import synthesis_run_execute
from tests.labeler.test_synthesis import trusted_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_staff_request_follow_and_download(
    api, alice, tmp_path, django_capture_on_commit_callbacks
):
    trusted_dataset(tmp_path, rows=1200)
    client = api(alice)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/api/v1/synthesis-runs/",
            {"dataset": "cards", "rows": 300, "fraud_share": 0.2, "generator": "cvae", "epochs": 2},
            format="json",
        )
    assert response.status_code == 202, response.json()
    assert len(callbacks) == 1  # handed to a worker once committed
    body = response.json()
    assert body["status"] == "queued" and body["dataset"] == "cards" and body["report"] is None
    assert client.get(f"/api/v1/synthesis-runs/{body['id']}/file/").status_code == 404

    assert synthesis_run_execute(run_id=body["id"], worker="test") == "done"
    run = client.get(f"/api/v1/synthesis-runs/{body['id']}/").json()
    assert run["status"] == "done" and run["progress"] == 100
    assert run["report"]["class_counts"] == {"legit": 240, "fraud": 60}
    assert [item["id"] for item in client.get("/api/v1/synthesis-runs/").json()["results"]] == [
        body["id"]
    ]
    download = client.get(f"/api/v1/synthesis-runs/{body['id']}/file/")
    assert download.status_code == 200
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert lines[0].startswith("Time,V1,") and len(lines) == 301
    report = client.get(f"/api/v1/synthesis-runs/{body['id']}/file/?part=report")
    assert report.status_code == 200 and b'"fidelity"' in b"".join(report.streaming_content)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"dataset": "nope", "rows": 10, "fraud_share": 0.1}, "dataset"),
        ({"dataset": "ca\x00rds", "rows": 10, "fraud_share": 0.1}, "dataset"),
        ({"dataset": "cards", "rows": 0, "fraud_share": 0.1}, "rows"),
        ({"dataset": "cards", "rows": 10, "fraud_share": 2}, "fraud_share"),
        ({"dataset": "cards", "rows": 10, "fraud_share": 0.1, "generator": "x"}, "generator"),
        ({"dataset": "cards", "rows": 10, "fraud_share": 0.1, "seed": 2**40}, "seed"),
        ({"dataset": "cards", "rows": 2**40, "fraud_share": 0.1}, "rows"),
    ],
)
def test_bad_requests_name_the_field_and_queue_nothing(api, alice, tmp_path, payload, field):
    trusted_dataset(tmp_path, rows=200)
    response = api(alice).post("/api/v1/synthesis-runs/", payload, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not SynthesisRun.objects.exists()


def test_only_staff(api, bob, tmp_path):
    trusted_dataset(tmp_path, rows=200)
    payload = {"dataset": "cards", "rows": 10, "fraud_share": 0.1}
    assert api(bob).post("/api/v1/synthesis-runs/", payload, format="json").status_code == 403
    assert api(bob).get("/api/v1/synthesis-runs/").status_code == 403
    assert api(None).get("/api/v1/synthesis-runs/").status_code in {401, 403}
