"""Generated frauds for the committee: off by default, rows that look like the labeled frauds
when on, learned at their low weight, never judging the SGAN's checkpoints, and kept in the
model file's config."""

from dataclasses import replace

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from modeling import committee as committee_module
from modeling.committee import CommitteeConfig, committee_train
from modeling.model_files import _committee_config, _committee_config_state
from modeling.sgan import SGANConfig
from modeling.synthesis.augment import AugmentConfig, frauds_generate
from modeling.synthesis.cvae import CVAEConfig

QUICK_GENERATOR = CVAEConfig(hidden=32, latent=4, epochs=30, batch_size=128, device="cpu")
ON = AugmentConfig(rows=300, weight=0.1, background_rows=2000, generator=QUICK_GENERATOR)


@pytest.fixture
def labeled(small_data):
    _, y = small_data
    return np.concatenate([np.flatnonzero(y == 1)[:30], np.flatnonzero(y == 0)[:150]])


def test_off_by_default_and_below_the_positives_needed(small_data, labeled):
    x, y = small_data
    assert AugmentConfig().rows == 0
    none = frauds_generate(
        x[labeled], y[labeled], x, positive_class=1, config=AugmentConfig(), seed=0
    )
    assert none.shape == (0, x.shape[1])
    two_frauds = np.concatenate([np.flatnonzero(y == 1)[:2], np.flatnonzero(y == 0)[:50]])
    few = frauds_generate(x[two_frauds], y[two_frauds], x, positive_class=1, config=ON, seed=0)
    assert len(few) == 0


@pytest.mark.parametrize("kind", ["cvae", "kernel"])
def test_generated_rows_look_like_the_labeled_frauds(small_data, labeled, kind):
    x, y = small_data
    config = replace(ON, kind=kind)
    generated = frauds_generate(x[labeled], y[labeled], x, positive_class=1, config=config, seed=3)
    assert generated.shape == (300, x.shape[1]) and generated.dtype == np.float32
    judge = LogisticRegression(max_iter=1000).fit(x, y)  # every label: a fair judge

    def fraud_probability(rows):
        return judge.predict_proba(rows)[:, 1].mean()

    # as fraud-like as the real frauds (which this judge calls fraud only some of the time)
    assert fraud_probability(generated) > 0.8 * fraud_probability(x[y == 1])
    assert fraud_probability(generated) > 5 * fraud_probability(x[y == 0])
    again = frauds_generate(x[labeled], y[labeled], x, positive_class=1, config=config, seed=3)
    assert np.array_equal(generated, again)


def test_the_committee_learns_them_at_their_weight_and_never_validates_on_them(
    small_data, labeled, monkeypatch
):
    x, y = small_data
    given = {}
    original = committee_module.sgan_train

    def spy(x_labeled, y_labeled, x_unlabeled, **options):
        given.update(y=y_labeled, weights=options["weights"], never=options["never_validate"])
        return original(x_labeled, y_labeled, x_unlabeled, **options)

    monkeypatch.setattr(committee_module, "sgan_train", spy)
    config = replace(
        CommitteeConfig(), augment=ON, sgan=SGANConfig(steps=10, hidden=16, device="cpu")
    )
    committee = committee_train(x, labeled, y[labeled], num_classes=2, config=config)
    assert len(given["y"]) == len(labeled) + 300
    assert given["never"].sum() == 300 and given["never"][-300:].all()
    assert np.all(given["weights"][-300:] == 0.1) and np.all(given["y"][-300:] == 1)
    validation = committee.sgan.validation_indices
    assert validation is not None and validation.max() < len(labeled)


def test_the_model_files_config_keeps_it_and_old_files_read_as_off():
    config = replace(CommitteeConfig(), augment=ON)
    assert _committee_config(_committee_config_state(config)).augment == ON
    kernel = replace(CommitteeConfig(), augment=replace(ON, kind="kernel"))
    assert _committee_config(_committee_config_state(kernel)).augment.kind == "kernel"
    with pytest.raises(ValueError, match="augmentation generator 'smote': one of cvae, kernel"):
        AugmentConfig(rows=10, kind="smote")
    state = _committee_config_state(CommitteeConfig())
    del state["augment"]  # a file written before augmentation existed
    assert _committee_config(state).augment == AugmentConfig()
