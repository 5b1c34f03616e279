"""The bulk write path encodes every column kind the way the ORM reads it back."""

from datetime import UTC, datetime

import numpy as np
import pytest

from labeler.models import Label, Transaction
from labeler.services.bulk_insert import columns_insert
from tests.factories import ImportBatchFactory, TransactionFactory, label_class

pytestmark = pytest.mark.django_db


def test_arrays_texts_constants_and_nulls_round_trip(bob):
    transactions = [TransactionFactory() for _ in range(3)]
    when = datetime(2026, 5, 17, 8, 30, 15, 123456, tzinfo=UTC)
    columns_insert(
        Label,
        {
            "transaction": np.array([t.id for t in transactions]),
            "annotator": bob.id,
            "label_class": label_class("fraud").id,
            "decision": "manual",
            "status": "superseded",
            "suggested_class": None,
            "suggested_probability": np.array([0.25, 0.5, 0.999]),
            "time_taken_ms": np.array([1200, 0, 70_000]),
            "request_token": ["tok-1", "tök-2", "t" * 64],
            "created_at": when,
        },
        rows=3,
    )
    labels = list(Label.objects.order_by("id"))
    assert [label.transaction_id for label in labels] == [t.id for t in transactions]
    assert {
        (label.annotator_id, label.label_class.name, label.decision, label.status)
        for label in labels
    } == {(bob.id, "fraud", "manual", "superseded")}
    assert all(label.suggested_class_id is None for label in labels)
    assert [label.suggested_probability for label in labels] == [0.25, 0.5, 0.999]
    assert [label.time_taken_ms for label in labels] == [1200, 0, 70_000]
    assert [label.request_token for label in labels] == ["tok-1", "tök-2", "t" * 64]
    assert {label.created_at for label in labels} == {when}


def test_feature_matrix_rows_become_float32_vectors():
    batch = ImportBatchFactory()
    features = np.arange(12, dtype="<f4").reshape(4, 3) / 7
    columns_insert(
        Transaction,
        {
            "dataset": batch.dataset_id,
            "import_batch": batch.id,
            "external_id": ["a", "b", "c", "d"],
            "time": np.array([0.0, 1.5, 2.0, 3.0]),
            "amount": np.array([1.0, 2.0, 3.0, 1e6]),
            "features": features,
            "imported_at": datetime.now(UTC),
            "audit_number": np.array([np.nan, 0.25, np.nan, 0.75]),  # NaN is NULL
        },
        rows=4,
    )
    stored = Transaction.objects.order_by("id")
    assert [t.audit_number for t in stored] == [None, 0.25, None, 0.75]
    np.testing.assert_array_equal(np.stack([t.feature_vector for t in stored]), features)
    assert [t.external_id for t in stored] == ["a", "b", "c", "d"]
    assert stored.last().amount == 1e6


def test_zero_rows_writes_nothing():
    columns_insert(Label, {"transaction": np.array([], dtype=np.int64)}, rows=0)
    assert Label.objects.count() == 0
