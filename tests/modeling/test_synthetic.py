"""The synthetic generator: reproducible, rare fraud, overlapping classes."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from modeling.synthetic import transactions_synthesize


def test_same_seed_same_data_other_seed_other_data():
    first = transactions_synthesize(rows=3000, seed=7)
    again = transactions_synthesize(rows=3000, seed=7)
    other = transactions_synthesize(rows=3000, seed=8)
    np.testing.assert_array_equal(first.features, again.features)
    np.testing.assert_array_equal(first.labels, again.labels)
    assert not np.array_equal(first.features, other.features)


def test_shapes_rates_and_types():
    data = transactions_synthesize(rows=20_000, features=30, fraud_rate=0.005, seed=0)
    assert data.features.shape == (20_000, 30) and data.features.dtype == np.float32
    assert data.labels.sum() == 100
    assert np.all(np.diff(data.time) >= 0) and data.time[0] == 0
    assert data.amount.min() > 0
    assert data.feature_names[:2] == ["V1", "V2"]


def test_neither_trivial_nor_hopeless():
    data = transactions_synthesize(rows=50_000, seed=0)
    features = np.column_stack([data.features, np.log1p(data.amount)])
    cut = 40_000
    model = LogisticRegression(max_iter=2000, class_weight="balanced")
    model.fit(features[:cut], data.labels[:cut])
    ap = average_precision_score(data.labels[cut:], model.predict_proba(features[cut:])[:, 1])
    assert 0.2 < ap < 0.95
    best_single = max(
        max(
            average_precision_score(data.labels, column),
            average_precision_score(data.labels, -column),
        )
        for column in features.T
    )
    assert best_single < 0.5  # no single feature gives fraud away


@pytest.mark.parametrize("bad", [{"rows": 5}, {"features": 2}, {"fraud_rate": 0.0}])
def test_rejects_nonsense_sizes(bad):
    with pytest.raises(ValueError):
        transactions_synthesize(**bad)
