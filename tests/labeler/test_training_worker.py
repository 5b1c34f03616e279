"""The loop on a real Celery worker process: Redis in CI, the embedded broker on a laptop.

demo data -> training on the worker -> labels -> training -> an active version with metrics, a
queue and pseudo-labels; and a worker killed with SIGKILL mid-run changes nothing.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import redis
from celery import Celery

from labeler.models import (
    Label,
    ModelVersion,
    PseudoLabel,
    QueueEntry,
    TrainingPolicy,
    Transaction,
)
from labeler.services import ingesting, training_runs
from labeler.services.demo import demo_data_import
from labeler.services.ingesting import ARRIVALS_TASK
from labeler.services.training import training_run_execute
from labeler.services.training_runs import TRAINING_QUEUE, TRAINING_TASK, training_request
from tests.conftest import IN_CI, require_reachable
from tests.labeler.api.conftest import client_for
from tests.labeler.test_training_run import visible_state
from tests.labeler.training_helpers import (
    arrivals,
    label_queue,
    raw_committee_version,
    run,
    small_options,
)
from tests.workers import wait_until, worker_start, worker_stop

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
]

Status = ModelVersion.Status
# As training_helpers.small_options(): no tree member, whose mix gives no pseudo-labels here.
QUICK_TRAINING = {
    "TRAINING_SGAN_STEPS": "60",
    "TRAINING_ANOMALY_EPOCHS": "1",
    "TRAINING_TREES": "false",
}


@pytest.fixture
def broker(tmp_path):
    """(broker URL, result backend, client transport options, worker environment).

    Redis keeps its database between runs, and a test that kills a worker mid-run leaves an
    unacknowledged message there that Redis delivers again later: to the next run's worker, which
    would claim a run of the same id. Each test starts and ends with the database emptied."""
    if IN_CI:
        require_reachable("Redis", "127.0.0.1", 6379)
        url = "redis://127.0.0.1:6379/13"
        database = redis.Redis.from_url(url)
        database.flushdb()
        yield url, url, {}, {}
        database.flushdb()
        database.close()
        return
    folder = tmp_path / "broker"
    options = {
        "data_folder_in": str(folder / "messages"),
        "data_folder_out": str(folder / "messages"),
        "control_folder": str(folder / "control"),
    }
    for path in [*options.values(), str(tmp_path / "results")]:
        os.makedirs(path, exist_ok=True)
    yield (
        "filesystem://",
        f"file://{tmp_path / 'results'}",
        options,
        {"CELERY_BROKER_DIR": str(folder)},
    )


@pytest.fixture
def client(broker, monkeypatch):
    """The web side's view of the broker: training requests go through it to the worker."""
    url, backend, options, _ = broker
    app = Celery("training-client", broker=url, backend=backend, set_as_current=False)
    app.conf.broker_transport_options = options
    sent = []

    def enqueue(version_id):
        sent.append(app.send_task(TRAINING_TASK, args=[version_id], queue=TRAINING_QUEUE))

    monkeypatch.setattr(training_runs, "_enqueue", enqueue)
    app.sent = sent
    yield app
    app.close()


@pytest.fixture
def environment(broker, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    policy = TrainingPolicy.current()
    policy.queue_size = 120
    policy.save()
    return {**broker[3], "MEDIA_ROOT": settings.MEDIA_ROOT, **QUICK_TRAINING}


def worker_dataset():
    """3,000 rows with 15 frauds. The cold start for numbers finds most frauds among the first
    120 labels (43 of 60 at a 2% fraud rate), so a 60-step committee on that file saw too few
    legitimate labels for any row to reach the 0.999 a pseudo-label needs (the old cold start
    left it 1). At 0.5%, 12 frauds among the 120 and about 50 pseudo-labels."""
    return demo_data_import(rows=3000, features=8, fraud_rate=0.005, seed=5).dataset


def request_and_wait(client, dataset, django_capture_on_commit_callbacks) -> ModelVersion:
    with django_capture_on_commit_callbacks(execute=True):
        version = training_request(dataset=dataset, trigger="button").version
    # get() blocks on the result backend until the worker answers; the timeout guards a hang.
    assert client.sent.pop().get(timeout=240) == "activated"
    version.refresh_from_db()
    return version


def test_demo_data_to_an_active_version_through_a_real_worker(
    broker, client, environment, bob, django_capture_on_commit_callbacks
):
    dataset = worker_dataset()
    worker = worker_start("trainer@%h", broker[0], broker[1], environment)
    try:
        cold = request_and_wait(client, dataset, django_capture_on_commit_callbacks)
        assert cold.status == Status.ACTIVE and cold.kind == ModelVersion.Kind.AUTOENCODER
        assert cold.worker.startswith("trainer@")
        label_queue(dataset, bob, 120)
        version = request_and_wait(client, dataset, django_capture_on_commit_callbacks)
    finally:
        worker_stop(worker)
    assert version.status == Status.ACTIVE and version.kind == ModelVersion.Kind.SGAN
    assert version.device == "cpu" and os.path.exists(version.artifact_path)
    assert version.metrics["cross_validation"]["average_precision"] is not None
    assert version.training_counts["human_labels"] == 120
    assert QueueEntry.objects.filter(model_version=version).count() > 0
    assert PseudoLabel.objects.filter(model_version=version).exists()


def test_scoring_shards_go_to_the_light_workers_while_the_trainer_waits(
    broker, client, environment, bob, django_capture_on_commit_callbacks
):
    """The trainer takes only the training queue: the run activates only if the two light
    workers score its shards."""
    dataset = worker_dataset()
    sharded = {
        **environment,
        "TRAINING_SCORING_ON_WORKERS": "true",
        "TRAINING_SCORING_SHARD_ROWS": "500",
        "TRAINING_SCORING_TIMEOUT": "180",
    }
    workers = [
        worker_start("trainer@%h", broker[0], broker[1], sharded, queues="training"),
        worker_start("light1@%h", broker[0], broker[1], sharded, queues="celery"),
        worker_start("light2@%h", broker[0], broker[1], sharded, queues="celery"),
    ]
    try:
        cold = request_and_wait(client, dataset, django_capture_on_commit_callbacks)
        label_queue(dataset, bob, 120)
        version = request_and_wait(client, dataset, django_capture_on_commit_callbacks)
    finally:
        for worker in workers:
            worker_stop(worker)
    for run_version in (cold, version):
        assert run_version.status == Status.ACTIVE
        assert run_version.training_counts["scoring_shards"] == 6
    assert version.kind == ModelVersion.Kind.SGAN
    assert Transaction.objects.exclude(scored_by=version).count() == 0
    assert QueueEntry.objects.filter(model_version=version).count() > 0
    assert PseudoLabel.objects.filter(model_version=version).exists()
    assert not list(Path(version.artifact_path).parent.glob("*-scoring"))


def test_a_worker_killed_mid_training_changes_nothing_and_the_next_run_succeeds(
    broker, client, environment, bob, django_capture_on_commit_callbacks
):
    dataset = demo_data_import(rows=3000, features=8, fraud_rate=0.02, seed=5).dataset
    for labels in (120, 30):  # an active committee version with a queue and pseudo-labels
        version = training_request(dataset=dataset, trigger="command", enqueue=False).version
        training_run_execute(version_id=version.pk, worker="setup", options=small_options())
        label_queue(dataset, bob, labels)
    assert PseudoLabel.objects.exists() and QueueEntry.objects.exists()
    before = visible_state()

    # Anomaly detectors that would train for hours: the kill lands mid-stage.
    slow = {**environment, "TRAINING_ANOMALY_EPOCHS": "100000"}
    worker = worker_start("doomed@%h", broker[0], broker[1], slow)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            doomed = training_request(dataset=dataset, trigger="button").version
        wait_until(
            lambda: ModelVersion.objects.filter(pk=doomed.pk, stage="anomaly").exists(),
            timeout=180,
            what="the worker to be mid-training",
        )
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        worker_stop(worker)
    doomed.refresh_from_db()
    assert doomed.status == Status.TRAINING  # nobody has noticed yet
    assert visible_state() == before

    # The worker comes back under the same name: it fails the run it held, then trains again.
    worker = worker_start("doomed@%h", broker[0], broker[1], environment)
    try:
        wait_until(
            lambda: ModelVersion.objects.filter(pk=doomed.pk, status=Status.FAILED).exists(),
            timeout=120,
            what="the restarted worker to fail the stale run",
        )
        assert visible_state() == before
        client.sent.clear()
        version = request_and_wait(client, dataset, django_capture_on_commit_callbacks)
    finally:
        worker_stop(worker)
    doomed.refresh_from_db()
    assert "restarted" in doomed.error and "nothing was activated" in doomed.error
    assert version.status == Status.ACTIVE and version.pk != doomed.pk
    assert version.training_counts["human_labels"] == Label.objects.count()


def test_a_batch_through_the_api_is_scored_and_queued_by_a_real_worker(
    broker, client, environment, alice, bob, monkeypatch, django_capture_on_commit_callbacks
):
    dataset, version = raw_committee_version(bob)
    sent = []
    monkeypatch.setattr(
        ingesting,
        "_enqueue",
        lambda batch_id: sent.append(client.send_task(ARRIVALS_TASK, [batch_id])),
    )
    worker = worker_start("scorer@%h", broker[0], broker[1], environment, queues="celery")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(alice).post(
                f"/api/v1/datasets/{dataset.pk}/transactions/",
                data=arrivals(50),
                content_type="application/json",
            )
        assert response.status_code == 201, response.content
        outcome = sent.pop().get(timeout=120)
        batch = response.json()["import_batch"]
        assert outcome["scored"] == 50 and outcome["version_id"] == version.pk
        rows = Transaction.objects.filter(import_batch_id=batch)
        assert set(rows.values_list("scored_by", flat=True)) == {version.pk}
        queued = QueueEntry.objects.filter(reason="arrival", transaction__import_batch_id=batch)
        assert queued.count() == outcome["queued"]
        # A new version activates while the worker runs: its next batch is scored with it
        # (the worker process read the first version's model file and kept it).
        newer = run(dataset)
        assert newer.status == ModelVersion.Status.ACTIVE and newer.pk != version.pk
        with django_capture_on_commit_callbacks(execute=True):
            later = client_for(alice).post(
                f"/api/v1/datasets/{dataset.pk}/transactions/",
                data=arrivals(30, prefix="later"),
                content_type="application/json",
            )
        assert later.status_code == 201, later.content
        later_outcome = sent.pop().get(timeout=120)
    finally:
        worker_stop(worker)
    assert later_outcome["scored"] == 30 and later_outcome["version_id"] == newer.pk
    later_rows = Transaction.objects.filter(import_batch_id=later.json()["import_batch"])
    assert set(later_rows.values_list("scored_by", flat=True)) == {newer.pk}
