"""Single flight, triggers and recovery of training runs, as rows (no model is trained here)."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from labeler import tasks
from labeler.models import ModelVersion, PseudoLabel, StagedScore, TrainingPolicy
from labeler.selectors import new_human_labels
from labeler.services import training_runs
from labeler.services.processes import process_gone, this_host, this_process
from labeler.services.training_runs import (
    training_due,
    training_request,
    training_request_if_due,
    training_run_claim,
    training_stale_runs_fail,
)
from tests.factories import (
    DatasetFactory,
    LabelFactory,
    ModelVersionFactory,
    PseudoLabelFactory,
    TransactionFactory,
)

pytestmark = pytest.mark.django_db

Status = ModelVersion.Status


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    """The version ids handed to the workers, instead of a broker."""
    sent: list[int] = []
    monkeypatch.setattr(training_runs, "_enqueue", sent.append)
    return sent


@pytest.fixture
def dataset():
    dataset = DatasetFactory(name="runs")
    TransactionFactory.create_batch(3, import_batch__dataset=dataset)
    return dataset


def test_triggers_collapse_into_one_queued_run(
    dataset, django_capture_on_commit_callbacks, enqueued
):
    with django_capture_on_commit_callbacks(execute=True):
        first = training_request(dataset=dataset, trigger="button")
        second = training_request(dataset=dataset, trigger="schedule")
        third = training_request(dataset=dataset, trigger="labels")
    assert first.created and not second.created and not third.created
    assert second.version == first.version == third.version
    assert ModelVersion.objects.filter(status=Status.QUEUED).count() == 1
    assert enqueued == [first.version.pk]  # one message for the workers


def test_the_database_refuses_a_second_queued_run_for_a_dataset(dataset):
    ModelVersionFactory(dataset=dataset, status=Status.QUEUED)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersionFactory(dataset=dataset, status=Status.QUEUED)


def test_only_one_run_trains_at_a_time(dataset):
    other = DatasetFactory(name="other")
    a = training_request(dataset=dataset, trigger="button").version
    b = training_request(dataset=other, trigger="button").version
    assert training_run_claim(version_id=a.pk, worker="w1") is not None
    assert training_run_claim(version_id=b.pk, worker="w2") is None  # waits, still queued
    b.refresh_from_db()
    assert b.status == Status.QUEUED
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=b.pk).update(status=Status.TRAINING)


def test_a_redelivered_message_does_not_start_the_run_twice(dataset):
    version = training_request(dataset=dataset, trigger="button").version
    assert training_run_claim(version_id=version.pk, worker="w1") is not None
    assert training_run_claim(version_id=version.pk, worker="w1") is None


def test_a_trigger_during_training_queues_exactly_one_follow_up(
    dataset, django_capture_on_commit_callbacks, enqueued
):
    running = training_request(dataset=dataset, trigger="button").version
    training_run_claim(version_id=running.pk, worker="w1")
    follow_ups = {training_request(dataset=dataset, trigger="labels").version.pk for _ in range(3)}
    assert len(follow_ups) == 1
    assert ModelVersion.objects.filter(status=Status.QUEUED).count() == 1
    # When the running one ends, the follow-up is handed to the workers.
    ModelVersion.objects.filter(pk=running.pk).update(status=Status.ACTIVE)
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        training_runs.training_next_start()
    assert enqueued == list(follow_ups)


def test_a_silent_run_is_failed_its_outputs_dropped_and_the_next_request_proceeds(dataset):
    previous = ModelVersionFactory(dataset=dataset, status=Status.ACTIVE)
    kept = PseudoLabelFactory(model_version=previous)
    version = training_request(dataset=dataset, trigger="button").version
    training_run_claim(version_id=version.pk, worker="w1")
    PseudoLabelFactory(model_version=version)
    StagedScore.objects.create(
        model_version=version, transaction=dataset.transactions.first(), score=0.5
    )
    policy = TrainingPolicy.current()
    ModelVersion.objects.filter(pk=version.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=policy.stale_after_seconds + 1)
    )
    assert training_stale_runs_fail() == [version.pk]
    version.refresh_from_db()
    assert version.status == Status.FAILED
    assert "stopped reporting" in version.error and "nothing was activated" in version.error
    assert not StagedScore.objects.exists()
    assert list(PseudoLabel.objects.all()) == [kept]
    previous.refresh_from_db()
    assert previous.status == Status.ACTIVE
    again = training_request(dataset=dataset, trigger="button").version
    assert training_run_claim(version_id=again.pk, worker="w2") is not None


def test_a_restarted_worker_fails_the_run_it_held(dataset):
    version = training_request(dataset=dataset, trigger="button").version
    training_run_claim(version_id=version.pk, worker="celery@box")
    assert training_stale_runs_fail(worker="celery@other") == []
    assert training_stale_runs_fail(worker="celery@box") == [version.pk]
    version.refresh_from_db()
    assert version.status == Status.FAILED and "restarted" in version.error


def test_first_run_is_due_then_only_after_enough_new_labels(dataset, bob):
    policy = TrainingPolicy.current()
    policy.min_new_labels = 3
    policy.save()
    assert training_due(dataset=dataset)  # no version yet: the cold start is due
    active = ModelVersionFactory(
        dataset=dataset, status=Status.ACTIVE, training_counts={"last_label_id": 0}
    )
    transactions = list(dataset.transactions.all())
    LabelFactory(transaction=transactions[0], annotator=bob)
    LabelFactory(transaction=transactions[1], annotator=bob)
    LabelFactory(transaction=transactions[2], annotator=None, decision="imported")
    assert new_human_labels(dataset=dataset) == 2  # trusted imports are not human work
    assert not training_due(dataset=dataset)
    assert training_request_if_due(dataset=dataset, trigger="schedule") is None
    LabelFactory(transaction=transactions[2], annotator=bob)
    assert training_due(dataset=dataset)
    # Labels the active version already read do not count again.
    active.training_counts = {"last_label_id": LabelFactory._meta.model.objects.latest("id").pk}
    active.save()
    assert new_human_labels(dataset=dataset) == 0


def test_the_beat_task_queues_due_datasets_only(dataset, bob):
    fresh = DatasetFactory(name="fresh")
    TransactionFactory(import_batch__dataset=fresh)
    ModelVersionFactory(dataset=dataset, status=Status.ACTIVE, training_counts={})
    queued = tasks.training_on_schedule()
    assert [ModelVersion.objects.get(pk=pk).dataset for pk in queued] == [fresh]


def test_the_labels_trigger_respects_the_policy_switch(dataset):
    policy = TrainingPolicy.current()
    policy.retrain_on_labels = False
    policy.save()
    assert training_request_if_due(dataset=dataset, trigger="labels") is None
    assert training_request_if_due(dataset=dataset, trigger="schedule") is not None


def test_a_run_whose_process_died_is_failed_by_the_next_request_at_once(dataset):
    version = training_request(dataset=dataset, trigger="command").version
    training_run_claim(version_id=version.pk, worker="retrain@box")
    # The foreground `retrain` that claimed it was killed: its process is gone.
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    ModelVersion.objects.filter(pk=version.pk).update(
        run_host=this_host(), run_process=f"{child.pid}:1:{this_process().rsplit(':', 1)[1]}"
    )
    again = training_request(dataset=dataset, trigger="command").version
    version.refresh_from_db()
    assert version.status == Status.FAILED
    assert f"its process {child.pid} on {this_host()} is gone" in version.error
    assert training_run_claim(version_id=again.pk, worker="retrain@box") is not None


def test_a_run_whose_process_lives_keeps_training(dataset):
    version = training_request(dataset=dataset, trigger="command").version
    claimed = training_run_claim(version_id=version.pk, worker="retrain@box")
    assert claimed.run_process.startswith(f"{os.getpid()}:")
    assert training_stale_runs_fail() == []
    version.refresh_from_db()
    assert version.status == Status.TRAINING


def test_a_run_on_another_machine_waits_for_the_stale_timeout(dataset):
    version = training_request(dataset=dataset, trigger="command").version
    training_run_claim(version_id=version.pk, worker="celery@gpu-1")
    ModelVersion.objects.filter(pk=version.pk).update(run_host="gpu-1", run_process="1:1")
    assert training_stale_runs_fail() == []


def test_a_process_in_another_pid_namespace_is_never_declared_gone():
    assert process_gone("999999:1:0") is False  # namespace 0: not ours
    assert process_gone("999999:1") is True  # no namespace recorded, no such process here
