"""Tiny synthetic arrays for modeling tests: no database, CPU only, seconds at most."""

import numpy as np
import pytest

from modeling.features import FeatureScaler, feature_matrix
from modeling.synthetic import transactions_synthesize


@pytest.fixture(scope="session")
def small_data():
    """4,000 rows, 2% fraud, scaled: (x, y)."""
    data = transactions_synthesize(rows=4000, features=8, fraud_rate=0.02, seed=3)
    matrix = feature_matrix(data.features, data.amount, data.time)
    return FeatureScaler.fit(matrix).transform(matrix), data.labels


@pytest.fixture
def rng():
    return np.random.default_rng(0)
