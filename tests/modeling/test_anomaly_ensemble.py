"""The detectors' ensemble: how their ranks combine, what it records, what it refuses."""

from dataclasses import replace

import numpy as np
import pytest

from modeling.anomaly import DETECTORS
from modeling.anomaly.ensemble import AnomalyConfig, AnomalyEnsemble, anomaly_ensemble_fit


def quick(*names, combine="mean", **changes) -> AnomalyConfig:
    config = AnomalyConfig(detectors=names, device="cpu", combine=combine, **changes)
    for name in names:
        if name == "isolation_forest":
            config.isolation_forest = replace(config.isolation_forest, trees=10)
        else:
            setattr(config, name, replace(getattr(config, name), epochs=1, hidden=16))
    return config


@pytest.fixture(scope="module")
def ensemble(small_data):
    x, _ = small_data
    return anomaly_ensemble_fit(x, quick("autoencoder", "vae", "isolation_forest"))


def test_each_detector_is_timed_and_ranks_combine_by_their_mean(ensemble, small_data):
    x, _ = small_data
    assert set(ensemble.fit_seconds) == {"autoencoder", "vae", "isolation_forest"}
    assert all(seconds > 0 for seconds in ensemble.fit_seconds.values())
    ranks = ensemble.member_ranks(x[:100])
    np.testing.assert_allclose(
        ensemble.anomaly_score(x[:100]), np.mean(list(ranks.values()), axis=0)
    )
    # The combined score's own rank among the training rows: spread evenly over 0-1.
    overall = ensemble.anomaly_rank(x)
    np.testing.assert_allclose(np.quantile(overall, [0.1, 0.5, 0.9]), [0.1, 0.5, 0.9], atol=0.02)


def test_weights_trimmed_mean_median_and_max(ensemble, small_data):
    x, _ = small_data
    ranks = ensemble.member_ranks(x[:200])
    stacked = np.stack([ranks[name] for name in ensemble.detectors])

    def combined(**changes):
        other = AnomalyEnsemble(ensemble.detectors, **changes)
        return other.combined(ranks)

    weighted = combined(weights={"isolation_forest": 2.0})
    np.testing.assert_allclose(
        weighted,
        (ranks["autoencoder"] + ranks["vae"] + 2 * ranks["isolation_forest"]) / 4,
    )
    np.testing.assert_allclose(combined(combine="median"), np.median(stacked, axis=0))
    np.testing.assert_allclose(combined(combine="max"), stacked.max(axis=0))
    # Three detectors trimmed: the middle one of each row.
    np.testing.assert_allclose(combined(combine="trimmed_mean"), np.sort(stacked, axis=0)[1])


def test_fishers_method_tells_apart_rows_that_every_rank_mean_calls_equal(ensemble):
    """Near the top, where the cold start picks: one detector all but certain and the others
    fairly sure outranks every detector only fairly sure, which the mean of ranks ties."""
    names = list(ensemble.detectors)
    one_certain = {
        name: np.array([0.99999 if index == 0 else 0.985]) for index, name in enumerate(names)
    }
    all_fairly_sure = {name: np.array([0.99]) for name in names}
    fisher = AnomalyEnsemble(ensemble.detectors, combine="fisher")
    mean = AnomalyEnsemble(ensemble.detectors, combine="mean")
    assert mean.combined(one_certain) == pytest.approx(mean.combined(all_fairly_sure), abs=2e-3)
    assert fisher.combined(one_certain)[0] > fisher.combined(all_fairly_sure)[0] + 1.0
    # A rank past every training row's stays finite, and the order of ranks is kept.
    top = {name: np.array([1.0, 0.5, 0.0]) for name in names}
    scores = fisher.combined(top)
    assert np.all(np.isfinite(scores)) and scores[0] > scores[1] > scores[2]


def test_one_unlucky_detector_cannot_decide_the_order_alone(small_data):
    """A detector whose ranks are noise moves a row by a third of its rank at most (the
    mean); with the median (the default), a row ranks between what the other two say."""
    x, _ = small_data
    ensemble = anomaly_ensemble_fit(x, quick("autoencoder", "vae", "isolation_forest"))
    ranks = ensemble.member_ranks(x)
    ranks["vae"] = np.random.default_rng(0).random(len(x))
    combined = ensemble.combined(ranks)
    others = (ranks["autoencoder"] + ranks["isolation_forest"]) / 3
    assert np.all(np.abs(combined - others) <= 1 / 3 + 1e-9)
    median = AnomalyEnsemble(ensemble.detectors, combine="median").combined(ranks)
    low = np.minimum(ranks["autoencoder"], ranks["isolation_forest"])
    high = np.maximum(ranks["autoencoder"], ranks["isolation_forest"])
    assert np.all((low <= median) & (median <= high))


def test_the_default_is_the_median_of_one_detector_of_each_family_alocc_counting_twice():
    config = AnomalyConfig()
    assert config.detectors == ("denoising", "alocc", "isolation_forest")
    assert (config.combine, config.weights) == ("median", {"alocc": 2.0})


def test_files_of_numbers_get_the_mahalanobis_distance_counting_twice():
    numeric = AnomalyConfig.for_inputs(numeric=True)
    assert numeric.detectors == ("alocc", "isolation_forest", "mahalanobis")
    assert (numeric.combine, numeric.weights) == ("median", {"mahalanobis": 2.0})
    assert AnomalyConfig.for_inputs(numeric=False) == AnomalyConfig()
    assert AnomalyConfig.for_inputs(numeric=True, seed=3, combine="mean").combine == "mean"
    # Each call its own weights: changing one config's leaves the default alone.
    numeric.weights["alocc"] = 5.0
    assert AnomalyConfig.for_inputs(numeric=True).weights == {"mahalanobis": 2.0}


def test_the_weighted_median_follows_the_heavy_detector_unless_both_others_disagree():
    detectors = dict.fromkeys(("denoising", "alocc", "isolation_forest"))
    median = AnomalyEnsemble(detectors, weights={"alocc": 2.0}, combine="median")
    ranks = {
        "denoising": np.array([0.1, 0.2, 0.99, 0.3]),
        "alocc": np.array([0.5, 0.9, 0.8, 0.9]),
        "isolation_forest": np.array([0.9, 0.1, 0.95, 0.2]),
    }
    # Between the others: ALOCC's own rank. Above or below both: half-way to the nearer one.
    np.testing.assert_allclose(median.combined(ranks), [0.5, 0.55, 0.875, 0.6])
    # The same as the median of the ranks with ALOCC's written twice.
    stacked = np.stack(
        [ranks["denoising"], ranks["alocc"], ranks["alocc"], ranks["isolation_forest"]]
    )
    np.testing.assert_allclose(median.combined(ranks), np.median(stacked, axis=0))


def test_the_state_round_trips(ensemble, small_data):
    x, _ = small_data
    loaded = AnomalyEnsemble.from_state(ensemble.to_state())
    np.testing.assert_allclose(loaded.anomaly_rank(x), ensemble.anomaly_rank(x), rtol=1e-6)
    assert loaded.fit_seconds == ensemble.fit_seconds and loaded.combine == ensemble.combine


def test_unknown_detectors_and_combinations_are_refused():
    with pytest.raises(ValueError, match="unknown anomaly detectors"):
        AnomalyConfig(detectors=("autoencoder", "crystal_ball"))
    with pytest.raises(ValueError, match="unknown anomaly detectors"):
        AnomalyConfig(detectors=())
    with pytest.raises(ValueError, match="combine must be one of"):
        AnomalyConfig(combine="vote")
    state = {"detectors": {"crystal_ball": {}}, "weights": {}, "combine": "mean"}
    with pytest.raises(ValueError, match="unknown anomaly detector 'crystal_ball'"):
        AnomalyEnsemble.from_state(state)


def test_every_detector_has_its_config_on_the_ensemble():
    config = AnomalyConfig(seed=7, device="cpu")
    for name, detector in DETECTORS.items():
        own = config.detector_config(name)
        assert isinstance(own, detector.config_class)
        assert (own.seed, own.device) == (7, "cpu")
