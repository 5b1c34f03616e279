"""API clients for the personas, authenticated by token as a pipeline would be."""

import numpy as np
import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeler.models import ModelVersion
from tests.factories import (
    DatasetFactory,
    ModelVersionFactory,
    TransactionFactory,
    label_class,
    queue_entry,
)


@pytest.fixture(autouse=True)
def no_training(monkeypatch):
    monkeypatch.setattr(
        "labeler.services.training_runs.training_request_if_due", lambda **kwargs: None
    )


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api():
    return client_for


@pytest.fixture
def queued():
    """Four transactions the active version scored, queued for annotators."""
    dataset = DatasetFactory(name="api")
    version = ModelVersionFactory(dataset=dataset, status=ModelVersion.Status.ACTIVE)
    rows = []
    for index in range(4):
        row = TransactionFactory(
            import_batch__dataset=dataset,
            external_id=f"api-{index}",
            features=np.array([index, -1.5, 0.25], dtype="<f4").tobytes(),
            score=0.9 - index * 0.2,
            suggested_class=label_class("fraud" if index < 2 else "legit"),
            scored_by=version,
        )
        queue_entry(row, priority=10 - index, reason="uncertain")
        rows.append(row)
    return rows
