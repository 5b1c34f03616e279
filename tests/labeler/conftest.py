"""Fixtures the labeler tests share: training runs in this process, labels without triggers."""

import pytest

from labeler.services import training_runs


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
