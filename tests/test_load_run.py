"""The load benchmark, small: a real deployment (gunicorn, a Celery worker and beat) on the
database this suite runs on, six annotators on the page and the API for a few seconds with a
retrain activating meanwhile, and every acknowledged answer stored exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


def _case() -> list[str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return ["--case", "sqlite"]
    server = url.rsplit("/", 1)[0]
    return ["--case", "postgres", "--postgres-url", f"{server}/fraudloop_ci_load"]


@pytest.fixture(scope="module")
def load_run() -> dict:
    env = {
        **os.environ,
        "TRAINING_SGAN_STEPS": "60",
        "TRAINING_ANOMALY_EPOCHS": "1",
        # A fair share for the trainer: at the default niceness (with autogroups) annotators
        # who saturate the machine leave it almost nothing, and the retrain would activate
        # only once they run out of items (labeler/services/niceness.py).
        "WORKER_NICENESS": "0",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the deployment runs on its production settings
    command = [
        sys.executable,
        str(PROJECT / "benchmarks" / "load.py"),
        *_case(),
        "--rows=3000",
        "--annotators=6",
        "--workers=2",
        "--seconds=12",
        "--retrain-at=0.2",
        "--json",
    ]
    finished = subprocess.run(
        command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    return json.loads(finished.stdout.strip().splitlines()[-1])


def test_every_acknowledged_answer_is_stored_once(load_run):
    assert load_run["acknowledged"] >= 100, load_run
    assert load_run["undone"] > 0, "the mix undoes some answers"
    assert load_run["stored"] == load_run["acknowledged"]
    assert load_run["lost"] == 0, load_run["examples_lost"]
    assert load_run["extra"] == 0, load_run["examples_extra"]
    assert load_run["duplicated"] == 0
    assert load_run["replays_differing"] == 0
    assert load_run["undo_not_applied"] == 0
    assert load_run["superseded_unasked"] == 0


def test_no_item_answered_by_two_annotators_and_no_server_error(load_run):
    assert load_run["two_annotators_unasked"] == 0
    assert load_run["server_errors"] == 0, load_run["errors"]
    assert set(load_run["healthz_statuses"]) == {"200"}


def test_answers_go_on_while_a_retrain_activates(load_run):
    retrain = load_run["retrain"]
    assert retrain["status"] == "active", retrain
    assert retrain["answers_during"] > 0
