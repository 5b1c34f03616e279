"""Fixtures the labeler tests share: training runs in this process, labels without triggers."""

import pytest

from labeler.services import training_runs
from labeler.services.importing import transactions_import
from modeling.synthetic_raw import RawSimulationConfig, raw_transactions_simulate


@pytest.fixture
def training_here(monkeypatch, settings, tmp_path):
    """Runs train in the test's process (nothing goes to a broker), model files in tmp_path."""
    monkeypatch.setattr(training_runs, "_enqueue", lambda version_id: None)
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def no_label_trigger(monkeypatch):
    """A label never asks for a retraining."""
    monkeypatch.setattr(
        "labeler.services.training_runs.training_request_if_due", lambda **kwargs: None
    )


@pytest.fixture
def raw_dataset(tmp_path, db):
    """A small simulated raw dataset (cards, merchants, dates) imported with reference labels."""
    simulated = raw_transactions_simulate(
        RawSimulationConfig(customers=120, terminals=150, days=30, seed=2)
    )
    path = tmp_path / "raw.csv"
    simulated.frame.to_csv(path, index=False)
    return transactions_import(path=path, dataset_name="raw", label_mode="reference").dataset
