"""schemathesis against the OpenAPI schema of a running server: whatever a client sends, the
API answers without a server error."""

import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from labeler.models import ModelVersion
from labeler.services import training_runs
from labeler.services.demo import demo_data_import

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_no_request_makes_the_api_fail(
    live_server, django_user_model, monkeypatch, tmp_path, caplog
):
    monkeypatch.setattr(training_runs, "_enqueue", lambda version_id: None)  # no broker here
    dataset = demo_data_import(rows=300, features=4, fraud_rate=0.05, seed=3).dataset
    ModelVersion.objects.create(  # so that the version endpoints have something to show
        dataset=dataset,
        status=ModelVersion.Status.READY,
        metrics={"cross_validation": {"average_precision": 0.5}},
    )
    admin = django_user_model.objects.create_superuser("fuzz", password="fuzz-pass")
    token = Token.objects.create(user=admin)
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{live_server.url}/api/schema/",
            "--checks",
            "not_a_server_error",
            "--header",
            f"Authorization: Token {token.key}",
            "--max-examples",
            "10",
            "--seed",
            "7",
            "--workers",
            "1",
            "--no-color",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    server_errors = [  # the server's side of any 500: the traceback says what to fix
        f"{record.getMessage()}\n{caplog.handler.formatter.formatException(record.exc_info)}"
        for record in caplog.records
        if record.name == "django.request" and record.exc_info
    ]
    summary = result.stdout[-4000:] + "\n".join(server_errors[:3])
    assert result.returncode == 0, summary
    assert "23 selected / 23 total" in result.stdout, summary
