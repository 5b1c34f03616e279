"""The training card on the home page: status, the progress bar's polling, 'train now'."""

import pytest
from django.urls import reverse

from labeler.models import ModelVersion
from labeler.services import training_runs
from tests.factories import DatasetFactory, ModelVersionFactory, TransactionFactory

pytestmark = pytest.mark.django_db

Status = ModelVersion.Status


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(training_runs, "_enqueue", lambda version_id: None)


@pytest.fixture
def dataset():
    dataset = DatasetFactory(name="cards")
    TransactionFactory(import_batch__dataset=dataset)
    return dataset


def test_anonymous_users_see_nothing_and_annotators_cannot_start_a_run(client, dataset, bob):
    status_url = reverse("training_status", args=[dataset.pk])
    start_url = reverse("training_start", args=[dataset.pk])
    assert client.get(status_url).status_code == 302
    client.force_login(bob)
    assert client.get(status_url).status_code == 200
    assert client.post(start_url).status_code == 302  # to the staff login
    assert not ModelVersion.objects.exists()


def test_staff_train_now_queues_one_run_and_the_card_polls_until_it_ends(client, dataset, alice):
    client.force_login(alice)
    start_url = reverse("training_start", args=[dataset.pk])
    first = client.post(start_url, HTTP_HX_REQUEST="true")
    assert "Training v" in first.content.decode() and "queued" in first.content.decode()
    second = client.post(start_url, HTTP_HX_REQUEST="true").content.decode()
    assert "already queued" in second
    version = ModelVersion.objects.get()
    assert version.trigger == "button" and version.requested_by == alice
    page = client.get(reverse("training_status", args=[dataset.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in page and "waiting for a worker" in page
    assert "disabled" in page  # no second click while a run is pending

    ModelVersion.objects.filter(pk=version.pk).update(
        status=Status.TRAINING, stage="sgan", progress=42, worker="celery@gpu"
    )
    page = client.get(reverse("training_status", args=[dataset.pk])).content.decode()
    assert 'aria-valuenow="42"' in page and "sgan, 42% on celery@gpu" in page

    ModelVersion.objects.filter(pk=version.pk).update(
        status=Status.ACTIVE,
        kind="sgan",
        training_counts={"human_labels": 300, "positives": 40},
        metrics={"cross_validation": {"average_precision": 0.8123}},
    )
    page = client.get(reverse("training_status", args=[dataset.pk])).content.decode()
    assert "every 1s" not in page  # polling stops
    assert "0.812" in page and "300 human labels" in page


def test_a_failed_run_shows_its_error_on_the_home_page(client, dataset, alice):
    ModelVersionFactory(dataset=dataset, status=Status.ACTIVE)
    ModelVersionFactory(dataset=dataset, status=Status.FAILED, error="ModelFileError: damaged")
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    assert "failed: ModelFileError: damaged" in page
