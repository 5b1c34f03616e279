"""Feature matrix and scaler: log amounts, hour of day, robust scaling that survives outliers."""

import numpy as np
import pytest

from modeling.features import CLIP, FeatureScaler, feature_matrix


def test_matrix_adds_log_amount_and_hour_of_day():
    features = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    matrix = feature_matrix(features, np.array([0.0, np.e - 1]), np.array([0.0, 6 * 3600.0]))
    assert matrix.shape == (2, 5) and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix[:, 2], [0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(matrix[1, 3:], [1.0, 0.0], atol=1e-6)  # 06:00 is a quarter turn


def test_scaler_is_robust_to_heavy_tails_and_clips():
    rng = np.random.default_rng(0)
    column = rng.normal(0, 1, (10_000, 1)).astype(np.float32)
    column[0] = 1e6  # one absurd amount must not squash everybody else
    scaler = FeatureScaler.fit(column)
    scaled = scaler.transform(column)
    assert scaled[0, 0] == CLIP
    assert 0.5 < np.std(scaled[1:]) < 1.0  # IQR of a normal is 1.35 sd


def test_constant_columns_do_not_divide_by_zero():
    scaler = FeatureScaler.fit(np.ones((50, 2), np.float32))
    assert np.all(np.isfinite(scaler.transform(np.ones((3, 2), np.float32))))


def test_state_round_trip_and_wrong_width():
    matrix = np.random.default_rng(1).normal(size=(100, 3)).astype(np.float32)
    scaler = FeatureScaler.fit(matrix)
    again = FeatureScaler.from_state(scaler.to_state())
    np.testing.assert_array_equal(scaler.transform(matrix), again.transform(matrix))
    with pytest.raises(ValueError, match="fitted on 3 columns, got 2"):
        scaler.transform(matrix[:, :2])
