"""python manage.py retrain, and the beat entry that the migration installs."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from labeler import tasks
from labeler.models import ModelVersion, TrainingPolicy
from labeler.services import training_runs
from labeler.services.demo import demo_data_import

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick_training(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.TRAINING_SGAN_STEPS = 40
    settings.TRAINING_ANOMALY_EPOCHS = 1
    settings.TRAINING_DEVICE = "cpu"
    sent = []
    monkeypatch.setattr(training_runs, "_enqueue", sent.append)
    policy = TrainingPolicy.current()
    policy.queue_size = 50
    policy.save()
    return sent


def retrain(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("retrain", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_retrain_runs_here_with_a_progress_bar_and_reports_the_version():
    demo_data_import(rows=1500, features=6, fraud_rate=0.02, seed=1)
    out, _ = retrain()
    version = ModelVersion.objects.get()
    assert version.status == "active" and version.trigger == "command"
    assert f"v{version.pk} (autoencoder) is active" in out
    assert "50 queued" in out and "on cpu" in out


def test_retrain_queue_no_wait_hands_the_run_to_the_workers(
    quick_training, django_capture_on_commit_callbacks
):
    demo_data_import(rows=500, features=6, seed=1)
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = retrain("--queue", "--no-wait")
    version = ModelVersion.objects.get()
    assert version.status == "queued" and f"Queued v{version.pk}" in out
    assert quick_training == [version.pk]


def test_retrain_names_the_datasets_when_the_one_asked_for_is_missing():
    demo_data_import(rows=200, features=6, seed=1)
    with pytest.raises(CommandError, match="no dataset 'nope'; datasets: demo"):
        retrain("--dataset", "nope")
    assert not ModelVersion.objects.exists()


def test_the_migration_installs_the_ten_minute_schedule_for_the_registered_task():
    entry = PeriodicTask.objects.get(name="retrain when enough new labels")
    assert entry.task == tasks.training_on_schedule.name
    assert (entry.interval.every, entry.interval.period) == (10, "minutes")
    assert entry.enabled
