"""Model files: one versioned file round-trips every part; a corrupt or foreign file is refused."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from modeling.autoencoder import AutoencoderConfig, autoencoder_train
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


@pytest.fixture(scope="module")
def bundle(small_data):
    x, y = small_data
    labeled = np.concatenate([np.flatnonzero(y == 1)[:30], np.flatnonzero(y == 0)[:200]])
    config = replace(CommitteeConfig(), sgan=SGANConfig(steps=20, hidden=16, device="cpu"))
    autoencoder = autoencoder_train(x, AutoencoderConfig(epochs=1, device="cpu"))
    train = dict(num_classes=2, config=config, autoencoder=autoencoder)
    previous = committee_train(x, labeled[::2], y[labeled[::2]], **train)
    evidence = share_evidence_extend(previous, x[labeled[1::2]], y[labeled[1::2]])
    committee = committee_train(x, labeled, y[labeled], share_evidence=evidence, **train)
    # Learned from the record, so the file must keep them.
    assert (committee.sgan_share, committee.anomaly_share) != (0.5, 0.4)
    return ModelBundle(
        class_names=["legit", "fraud"],
        scaler=FeatureScaler.fit(x),
        committee=committee,
        autoencoder=autoencoder,
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
    assert loaded.committee.autoencoder is loaded.autoencoder  # the anomaly member
    np.testing.assert_array_equal(
        loaded.autoencoder.error_quantiles, bundle.autoencoder.error_quantiles
    )
    record, saved = loaded.committee.share_evidence, bundle.committee.share_evidence
    assert set(record.members) == set(saved.members) == {"weak", "sgan", "anomaly"}
    for name in saved.members:  # carried on to the next version's shares
        np.testing.assert_array_equal(record.members[name], saved.members[name])
    np.testing.assert_array_equal(record.labels, saved.labels)
    np.testing.assert_allclose(
        loaded.committee.predict_proba(x), bundle.committee.predict_proba(x), rtol=1e-5
    )
    np.testing.assert_allclose(
        loaded.autoencoder.anomaly_score(x), bundle.autoencoder.anomaly_score(x), rtol=1e-5
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
        ModelFileError, match=f"format version {FORMAT_VERSION + 1}; this fraudloop reads"
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
