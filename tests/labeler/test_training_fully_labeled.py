"""A dataset whose every row arrived labeled (known chargebacks and cleared cases) trains: the
SGAN's unsupervised terms use the labeled rows as the real ones, and the queue is simply empty."""

import tempfile
from pathlib import Path

import pytest

from labeler.models import ImportBatch, LabelClass, ModelVersion, QueueEntry
from labeler.services.demo import synthetic_frame
from labeler.services.importing import transactions_import
from modeling.synthetic import transactions_synthesize
from tests.labeler.training_helpers import run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("training_here")]


def test_a_fully_labeled_dataset_trains_a_version_with_its_sgan():
    data = transactions_synthesize(rows=1500, features=8, fraud_rate=0.04, seed=3)
    codes = (LabelClass.objects.get(name="legit").code, LabelClass.objects.get(name="fraud").code)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "all-labeled.csv"
        synthetic_frame(data, class_codes=codes).to_csv(path, index=False)
        batch = transactions_import(
            path=path, dataset_name="cleared", label_mode=ImportBatch.LabelMode.TRUSTED
        )
    assert batch.label_count == 1500
    version = run(batch.dataset)
    assert version.status == ModelVersion.Status.ACTIVE, version.error
    assert version.kind == ModelVersion.Kind.SGAN  # the committee with its SGAN member
    assert QueueEntry.objects.count() == 0
