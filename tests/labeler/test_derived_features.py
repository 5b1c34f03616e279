"""Per-card and per-merchant features from the database: which labels they may use and when,
the same values for one transaction as for the whole dataset, and a training run that learns
from them."""

from datetime import UTC, datetime

import numpy as np
import pytest

from labeler.models import Label
from labeler.services.training.derived import derived_row, fraud_known_at
from labeler.services.training_data import model_input, training_arrays_build
from modeling.model_files import bundle_load
from tests.factories import label_class
from tests.labeler.training_helpers import label_queue, run

pytestmark = pytest.mark.django_db


def fraud(row, *, by=None, known=None, recorded=None):
    label = Label.objects.create(
        transaction=row,
        annotator=by,
        label_class=label_class("fraud"),
        decision=Label.Decision.MANUAL if by else Label.Decision.IMPORTED,
        known_at=known,
    )
    if recorded is not None:
        Label.objects.filter(pk=label.pk).update(created_at=recorded)
    return label


def test_a_fraud_counts_from_when_it_became_known_and_never_from_the_audit_frame(raw_dataset, bob):
    rows = list(raw_dataset.transactions.filter(audit_number__isnull=True).order_by("id")[:3])
    framed = raw_dataset.transactions.filter(audit_number__isnull=False).first()
    recorded = datetime(2026, 3, 1, tzinfo=UTC)
    chargeback = datetime(2026, 1, 20, tzinfo=UTC)
    fraud(rows[0], by=bob, recorded=recorded)  # a person's label: known when recorded
    fraud(rows[1], known=chargeback)  # a chargeback: known on its date
    fraud(framed, by=bob)  # the audit's answer: no feature may learn from it
    ids = np.asarray([rows[0].pk, rows[1].pk, rows[2].pk, framed.pk])
    known = fraud_known_at(raw_dataset, ids)
    assert known[0] == recorded.timestamp() and known[1] == chargeback.timestamp()
    assert np.isnan(known[2]) and np.isnan(known[3])


def test_one_transaction_gets_the_values_the_whole_dataset_gives_it(raw_dataset, bob):
    for row in raw_dataset.transactions.filter(audit_number__isnull=True).order_by("id")[:40]:
        fraud(row, known=datetime.fromtimestamp(row.time + 3 * 86_400, tz=UTC))
    arrays = training_arrays_build(dataset=raw_dataset)
    assert arrays.derived is not None and "merchant_risk_7d" in arrays.derived_names
    assert arrays.derived[:, arrays.derived_names.index("merchant_risk_7d")].max() > 0
    # The latest row models learn from (the audit frame's are scored, never read for training).
    late = raw_dataset.transactions.filter(audit_number__isnull=True).order_by("-time").first()
    row = np.flatnonzero(arrays.transaction_ids == late.pk)
    position = int(arrays.read_positions(row)[0])
    np.testing.assert_allclose(
        derived_row(late, arrays.derived_config), arrays.derived[position], rtol=1e-6
    )
    assert model_input(arrays).shape[1] == arrays.features.shape[1] + 3 + arrays.derived.shape[1]


def test_a_training_run_learns_from_the_derived_features(raw_dataset, bob, training_here):
    run(raw_dataset)
    label_queue(raw_dataset, bob, 120)
    version = run(raw_dataset)
    bundle = bundle_load(version.artifact_path)
    names = bundle.metadata["derived_names"]
    assert "card_amount_deviation_7d" in names and "weekend" in names
    width = len(raw_dataset.feature_names) + 3 + len(names)
    assert len(bundle.scaler.center) == width
    assert version.status == "active"
