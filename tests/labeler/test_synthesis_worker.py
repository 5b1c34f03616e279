"""A synthetic copy made on a real Celery worker process (Redis in CI, the embedded broker on a
laptop): requested, trained and written on the worker, imported back, its report found."""

from __future__ import annotations

import json

import pytest
from celery import Celery

from labeler.models import SynthesisRun
from labeler.services import synthesis as synthesis_service
from labeler.services.importing import transactions_import
from labeler.services.synthesis import SYNTHESIS_QUEUE, SYNTHESIS_TASK, synthesis_report_path
from tests.labeler.test_synthesis import trusted_dataset
from tests.labeler.test_training_worker import broker  # noqa: F401 (a fixture)
from tests.workers import worker_start, worker_stop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def test_a_copy_made_on_a_worker_imports_back_with_its_report(
    broker,  # noqa: F811
    tmp_path,
    settings,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    url, backend, options, worker_environment = broker
    settings.MEDIA_ROOT = str(tmp_path / "media")
    client = Celery("synthesis-client", broker=url, backend=backend, set_as_current=False)
    client.conf.broker_transport_options = options
    sent = []
    monkeypatch.setattr(
        synthesis_service.current_app,
        "send_task",
        lambda name, args, queue: sent.append(
            (name, client.send_task(name, args=args, queue=queue))
        ),
    )
    dataset = trusted_dataset(tmp_path, rows=1500)
    worker = worker_start(
        "synthesizer@%h",
        url,
        backend,
        {**worker_environment, "MEDIA_ROOT": settings.MEDIA_ROOT},
        queues=SYNTHESIS_QUEUE,
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run = synthesis_service.synthesis_request(
                dataset=dataset, rows=600, fraud_share=0.1, generator="cvae", epochs=2
            )
        [(name, result)] = sent
        assert name == SYNTHESIS_TASK
        # get() blocks on the result backend until the worker answers; the timeout guards a hang.
        assert result.get(timeout=240) == "done"
    finally:
        worker_stop(worker)
        client.close()
    run.refresh_from_db()
    assert run.status == SynthesisRun.Status.DONE and run.worker.startswith("synthesizer@")
    report = json.loads(synthesis_report_path(run).read_text())
    assert report["rows"] == 600 and report["class_counts"]["fraud"] == 60
    batch = transactions_import(path=run.output_path, dataset_name="copy", label_mode="trusted")
    assert batch.row_count == 600 and batch.label_count == 600
