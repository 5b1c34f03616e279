"""Model files: one versioned file round-trips every part; a corrupt or foreign file is refused."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from modeling.anomaly.ensemble import AnomalyConfig, anomaly_ensemble_fit
from modeling.committee import CommitteeConfig, committee_train, share_evidence_extend
from modeling.features import FeatureScaler
from modeling.model_files import (
    FORMAT_VERSION,
    ModelBundle,
    ModelFileError,
    bundle_load,
    bundle_save,
)
from modeling.sgan import SGANConfig
from modeling.trees import TreesConfig


def quick_detectors() -> AnomalyConfig:
    config = AnomalyConfig(detectors=("autoencoder", "isolation_forest"), device="cpu")
    config.autoencoder = replace(config.autoencoder, epochs=1)
    config.isolation_forest = replace(config.isolation_forest, trees=10)
    return config


@pytest.fixture(scope="module")
def bundle(small_data):
    x, y = small_data
    labeled = np.concatenate([np.flatnonzero(y == 1)[:30], np.flatnonzero(y == 0)[:200]])
    config = replace(
        CommitteeConfig(),
        sgan=SGANConfig(steps=20, hidden=16, device="cpu"),
        use_trees=True,
        trees=TreesConfig(iterations=10),
    )
    detectors = anomaly_ensemble_fit(x, quick_detectors())
    train = dict(num_classes=2, config=config, anomaly=detectors)
    previous = committee_train(x, labeled[::2], y[labeled[::2]], **train)
    evidence = share_evidence_extend(previous, x[labeled[1::2]], y[labeled[1::2]])
    committee = committee_train(x, labeled, y[labeled], share_evidence=evidence, **train)
    # Learned from the record, so the file must keep them.
    assert (committee.sgan_share, committee.anomaly_share) != (0.5, 0.4)
    return ModelBundle(
        class_names=["legit", "fraud"],
        scaler=FeatureScaler.fit(x),
        committee=committee,
        anomaly=detectors,
        metadata={"dataset": "demo", "labels": 230},
    )


def test_round_trip_keeps_predictions_scaler_and_names(bundle, small_data, tmp_path):
    x, _ = small_data
    path = bundle_save(bundle, tmp_path / "model.pt")
    loaded = bundle_load(path)
    assert loaded.class_names == ["legit", "fraud"]
    assert loaded.metadata == {"dataset": "demo", "labels": 230}
    assert loaded.committee.config == bundle.committee.config
    assert loaded.committee.sgan_share == bundle.committee.sgan_share  # as learned at training
    assert loaded.committee.anomaly_share == bundle.committee.anomaly_share
    assert loaded.committee.trees_share == bundle.committee.trees_share
    np.testing.assert_array_equal(  # the tree member, from its tables
        loaded.committee.trees.predict_proba(x), bundle.committee.trees.predict_proba(x)
    )
    assert loaded.committee.anomaly is loaded.anomaly  # the anomaly member
    assert set(loaded.anomaly.detectors) == {"autoencoder", "isolation_forest"}
    assert loaded.anomaly.fit_seconds == bundle.anomaly.fit_seconds
    np.testing.assert_array_equal(loaded.anomaly.ranks.quantiles, bundle.anomaly.ranks.quantiles)
    record, saved = loaded.committee.share_evidence, bundle.committee.share_evidence
    assert set(record.members) == set(saved.members) == {"weak", "sgan", "trees", "anomaly"}
    for name in saved.members:  # carried on to the next version's shares
        np.testing.assert_array_equal(record.members[name], saved.members[name])
    np.testing.assert_array_equal(record.labels, saved.labels)
    np.testing.assert_allclose(
        loaded.committee.predict_proba(x), bundle.committee.predict_proba(x), rtol=1e-5
    )
    np.testing.assert_allclose(
        loaded.anomaly.anomaly_rank(x), bundle.anomaly.anomaly_rank(x), rtol=1e-5
    )
    np.testing.assert_array_equal(loaded.scaler.transform(x), bundle.scaler.transform(x))
    assert not (tmp_path / "model.pt.partial").exists()


def test_corrupt_file_is_refused_clearly(bundle, tmp_path):
    path = bundle_save(bundle, tmp_path / "model.pt")
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ModelFileError, match="not a readable fraudloop model file"):
        bundle_load(path)
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(ModelFileError, match="not a readable fraudloop model file"):
        bundle_load(tmp_path / "text.pt")


def test_other_format_version_is_refused(tmp_path):
    torch.save(
        {"format": "fraudloop-model", "format_version": FORMAT_VERSION + 1}, tmp_path / "new.pt"
    )
    with pytest.raises(
        ModelFileError, match=f"format version {FORMAT_VERSION + 1}; this fraudloop reads versions"
    ):
        bundle_load(tmp_path / "new.pt")


def test_foreign_and_missing_files(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(ModelFileError, match="not a fraudloop model file"):
        bundle_load(tmp_path / "foreign.pt")
    with pytest.raises(ModelFileError, match="no such model file"):
        bundle_load(tmp_path / "absent.pt")


def test_incomplete_file_is_refused(tmp_path):
    torch.save(
        {"format": "fraudloop-model", "format_version": FORMAT_VERSION, "class_names": []},
        tmp_path / "partial.pt",
    )
    with pytest.raises(ModelFileError, match="incomplete or damaged"):
        bundle_load(tmp_path / "partial.pt")


def test_a_format_1_file_is_read_with_its_autoencoder_as_the_only_detector(small_data, tmp_path):
    """Files written before the detectors' ensemble keep working: the active version's file
    of a deployment that upgrades still scores, and its anomaly rank means what it meant."""
    x, _ = small_data
    detectors = anomaly_ensemble_fit(x, replace(quick_detectors(), detectors=("autoencoder",)))
    autoencoder = detectors.detectors["autoencoder"]
    levels = np.linspace(0.0, 1.0, 1001)
    old_quantiles = np.quantile(autoencoder.score(x), levels)
    weights = {
        f"{module}.{key}": value
        for module, state in autoencoder._weights_state().items()
        for key, value in state.items()
    }
    torch.save(
        {
            "format": "fraudloop-model",
            "format_version": 1,
            "class_names": ["legit", "fraud"],
            "scaler": FeatureScaler.fit(x).to_state(),
            "metadata": {},
            "autoencoder": {
                "input_size": x.shape[1],
                "config": {k: v for k, v in vars(autoencoder.config).items()},
                "weights": weights,
                "error_quantiles": torch.as_tensor(old_quantiles),
            },
        },
        tmp_path / "old.pt",
    )
    loaded = bundle_load(tmp_path / "old.pt").anomaly
    assert list(loaded.detectors) == ["autoencoder"]
    np.testing.assert_allclose(loaded.detectors["autoencoder"].score(x), autoencoder.score(x))
    old_rank = np.interp(autoencoder.score(x), old_quantiles, levels)  # format 1's own rank
    np.testing.assert_allclose(loaded.anomaly_rank(x), old_rank, atol=0.01)
