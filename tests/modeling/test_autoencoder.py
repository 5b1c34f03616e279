"""The autoencoder anomaly score ranks unusual rows first."""

import numpy as np
from sklearn.metrics import roc_auc_score

from modeling.autoencoder import AutoencoderConfig, autoencoder_train


def test_outliers_score_higher_than_ordinary_rows():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(3000, 2))
    ordinary = (latent @ rng.normal(size=(2, 6))).astype(np.float32)
    outliers = rng.normal(0, 3, size=(30, 6)).astype(np.float32)
    model = autoencoder_train(
        np.vstack([ordinary, outliers]),
        AutoencoderConfig(epochs=20, bottleneck=2, hidden=16, device="cpu"),
    )
    scores = model.anomaly_score(np.vstack([ordinary, outliers]))
    assert scores.shape == (3030,)
    is_outlier = np.arange(3030) >= 3000
    assert roc_auc_score(is_outlier, scores) > 0.95
    assert np.mean(np.argsort(-scores)[:30] >= 3000) > 0.6


def test_same_seed_same_scores(small_data):
    x, _ = small_data
    config = AutoencoderConfig(epochs=1, device="cpu", seed=4)
    first = autoencoder_train(x, config).anomaly_score(x)
    second = autoencoder_train(x, config).anomaly_score(x)
    np.testing.assert_array_equal(first, second)


def test_rank_is_the_share_of_training_rows_that_reconstruct_better(small_data):
    x, _ = small_data
    model = autoencoder_train(x, AutoencoderConfig(epochs=1, device="cpu"))
    rank = model.anomaly_rank(x)
    assert rank.min() >= 0.0 and rank.max() <= 1.0
    # On the rows it learned from, the rank is spread evenly over 0-1 and follows the score.
    np.testing.assert_allclose(np.quantile(rank, [0.1, 0.5, 0.9]), [0.1, 0.5, 0.9], atol=0.01)
    scores = model.anomaly_score(x)
    assert np.all(np.diff(rank[np.argsort(scores)]) >= 0)
    far = x[:5] * 50  # further out than anything seen: the top rank
    np.testing.assert_allclose(model.anomaly_rank(far), 1.0)
