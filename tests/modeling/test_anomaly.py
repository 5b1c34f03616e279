"""Every anomaly detector, one interface: shapes, seeded determinism, a one-step dry run,
planted outliers ranked first, ranks among the training rows, and a round trip of its state."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from modeling.anomaly import DETECTORS
from modeling.anomaly.base import RANK_LEVELS, ScoreRanks

# Small and quick: every network detector trains in well under a second on these.
QUICK = {"hidden": 16, "bottleneck": 2, "epochs": 1, "batch_size": 128, "device": "cpu"}


def config(name: str, **changes):
    detector = DETECTORS[name]
    fields = detector.config_class.__dataclass_fields__
    quick = {key: value for key, value in QUICK.items() if key in fields}
    return detector.config_class(**{**quick, **changes})


def fitted(name: str, x: np.ndarray, **changes):
    fields = DETECTORS[name].config_class.__dataclass_fields__
    changes = {key: value for key, value in changes.items() if key in fields}
    return DETECTORS[name](x.shape[1], config(name, **changes)).fit(x)


@pytest.fixture(scope="module")
def planted():
    """3,000 rows near a 2-D plane in 6 dimensions, and 30 rows far off it: (x, is_outlier)."""
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(3000, 2))
    ordinary = latent @ rng.normal(size=(2, 6)) + rng.normal(0, 0.05, size=(3000, 6))
    outliers = rng.normal(0, 3, size=(30, 6))
    x = np.vstack([ordinary, outliers]).astype(np.float32)
    return x, np.arange(len(x)) >= 3000


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_planted_outliers_rank_above_ordinary_rows(name, planted):
    """(GANomaly needs a code wider than the data's own dimensions: with a code of exactly the
    plane's 2, the second encoder reads an outlier's projection as the first one did.)"""
    x, is_outlier = planted
    detector = fitted(name, x, epochs=20, bottleneck=4)
    scores = detector.score(x)
    assert scores.shape == (len(x),) and np.isfinite(scores).all()
    assert roc_auc_score(is_outlier, scores) > 0.9
    ranks = detector.rank(x)
    assert ranks.min() >= 0.0 and ranks.max() <= 1.0
    assert np.median(ranks[is_outlier]) > 0.95 > np.median(ranks[~is_outlier])


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_the_same_seed_gives_the_same_scores_and_another_seed_other_ones(name, small_data):
    """(The Mahalanobis distance draws nothing but its row sample: it is given fewer rows than
    the data has, so that the seed picks them.)"""
    x, _ = small_data
    changes = {"max_rows": 1000} if name == "mahalanobis" else {}
    first = fitted(name, x, seed=4, **changes).score(x)
    np.testing.assert_array_equal(first, fitted(name, x, seed=4, **changes).score(x))
    assert not np.array_equal(first, fitted(name, x, seed=5, **changes).score(x))


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_a_one_step_dry_run_fits_and_scores(name, small_data):
    """One batch of one epoch (a forest of one tree on a few rows): the whole path runs."""
    x, _ = small_data
    changes = {"max_rows": 64, "batch_size": 64}
    if name == "isolation_forest":
        changes = {"max_rows": 64, "trees": 1, "samples_per_tree": 16}
    detector = fitted(name, x, **changes)
    assert detector.score(x[:10]).shape == (10,)


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_the_state_round_trips(name, small_data):
    x, _ = small_data
    detector = fitted(name, x)
    loaded = DETECTORS[name].from_state(detector.to_state())
    np.testing.assert_allclose(loaded.score(x), detector.score(x), rtol=1e-6)
    np.testing.assert_array_equal(loaded.rank(x), detector.rank(x))
    assert loaded.config == detector.config


def test_the_forest_scores_as_scikit_learn_does(small_data):
    """The trees kept as arrays give scikit-learn's own scores, without its objects."""
    x, _ = small_data
    detector = fitted("isolation_forest", x, trees=25, seed=3)
    forest = IsolationForest(n_estimators=25, max_samples=256, random_state=3).fit(x)
    np.testing.assert_allclose(detector.score(x), -forest.score_samples(x), rtol=1e-9)


def test_the_forest_compares_float32_rows_as_with_its_float64_thresholds():
    """Each threshold rounded down to a float32: a float32 value is above it exactly when it is
    above the float64 threshold, rows on a threshold included."""
    from modeling.anomaly.isolation_forest import _float32_below

    exact = np.random.default_rng(0).normal(size=10_000) * 10.0 ** np.arange(-3, 7).repeat(1000)
    below = _float32_below(torch.as_tensor(exact)).numpy()
    assert below.dtype == np.float32
    assert np.all(below.astype(np.float64) <= exact)
    assert np.all(np.nextafter(below, np.float32(np.inf)).astype(np.float64) > exact)
    on_them = np.concatenate([below, np.nextafter(below, np.float32(np.inf))])
    thresholds = np.concatenate([exact, exact])
    np.testing.assert_array_equal(on_them > np.concatenate([below, below]), on_them > thresholds)


def test_ranks_resolve_the_top_of_the_training_rows():
    """The cold start picks from the top 0.1%: rank levels are finest there."""
    scores = np.arange(100_000, dtype=np.float64)
    ranks = ScoreRanks.fit(scores)
    top = ranks.rank(scores[-100:])
    assert len(np.unique(np.round(top, 7))) > 50  # not a handful of tied ranks
    np.testing.assert_allclose(ranks.rank(np.asarray([1e9])), 1.0)
    np.testing.assert_allclose(ranks.rank(np.asarray([-1.0])), 0.0)
    assert RANK_LEVELS[0] == 0.0 and RANK_LEVELS[-1] == 1.0


def test_an_unfitted_detector_refuses_to_rank(small_data):
    x, _ = small_data
    detector = DETECTORS["autoencoder"](x.shape[1], config("autoencoder"))
    with pytest.raises(RuntimeError, match="not fitted"):
        detector.rank(x)


def test_configs_keep_their_own_fields():
    base = config("vae")
    assert replace(base, beta=2.0).beta == 2.0
    assert config("isolation_forest").trees == 300


def test_the_mahalanobis_ellipse_is_learned_from_the_central_rows():
    """A tenth of the rows far off in one cluster: the plain covariance stretches towards them
    and ranks them among ordinary rows; after the concentration steps they are far outside."""
    rng = np.random.default_rng(1)
    ordinary = rng.normal(size=(2700, 5))
    cluster = rng.normal(0, 0.3, size=(300, 5)) + np.array([6.0, 6.0, 0.0, 0.0, 0.0])
    x = np.vstack([ordinary, cluster]).astype(np.float32)
    in_cluster = np.arange(len(x)) >= 2700
    plain = fitted("mahalanobis", x, steps=0).score(x)
    robust = fitted("mahalanobis", x).score(x)
    assert np.median(robust[in_cluster]) > 3 * np.quantile(robust[~in_cluster], 0.99)
    assert np.median(plain[in_cluster]) < np.quantile(plain[~in_cluster], 0.99)


def test_a_direction_without_spread_cannot_decide_the_mahalanobis_ranking():
    """Two columns that always sum to one (a one-hot pair): their difference from that sum is
    rounding error. The floor on each direction's variance keeps a row that breaks it by a
    hair below a row far out on an ordinary column; without the floor it would rank first."""
    rng = np.random.default_rng(2)
    ordinary = rng.normal(size=(3000, 3))
    first = rng.integers(0, 2, size=3000).astype(np.float64)
    x = np.column_stack([ordinary, first, 1.0 - first])
    hair, far = x[0].copy(), x[1].copy()
    hair[3] += 1e-4
    far[0] = 8.0
    detector = fitted("mahalanobis", x)
    hair_score, far_score = detector.score(np.vstack([hair, far]))
    assert far_score > hair_score
    assert np.isfinite(detector.score(x)).all()
    tiny = fitted("mahalanobis", x, variance_floor=1e-30)
    hair_score, far_score = tiny.score(np.vstack([hair, far]))
    assert hair_score > far_score


def test_the_mahalanobis_state_must_fit_its_columns(small_data):
    x, _ = small_data
    state = fitted("mahalanobis", x).to_state()
    state["weights"]["axes"] = state["weights"]["axes"][:-1]
    with pytest.raises(ValueError, match="mahalanobis axes has shape"):
        DETECTORS["mahalanobis"].from_state(state)
    state = fitted("mahalanobis", x).to_state()
    state["weights"]["variances"][0] = 0.0
    with pytest.raises(ValueError, match="variances must be positive"):
        DETECTORS["mahalanobis"].from_state(state)
    with pytest.raises(ValueError, match="central_share"):
        config("mahalanobis", central_share=0.0)
