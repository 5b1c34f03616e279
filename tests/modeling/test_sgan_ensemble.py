"""The SGAN ensemble: E SGANs as one batched network, each member what one SGAN would be."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from modeling.committee import CommitteeConfig, committee_train
from modeling.device import modules_seeded
from modeling.features import FeatureScaler
from modeling.model_files import ModelBundle, ModelFileError, bundle_load, bundle_save
from modeling.sgan import Discriminator, Generator, SGANConfig, weights_init
from modeling.sgan_ensemble import SGANEnsemble, sgan_ensemble_train
from modeling.sgan_stacked import MEMBER_SEED_STEP, StackedBatchNorm, stacked_from_members


def split(data):
    x, y = data
    labeled = np.concatenate([np.flatnonzero(y == 1)[:40], np.flatnonzero(y == 0)[:400]])
    unlabeled = np.setdiff1d(np.arange(len(y)), labeled)
    return x[labeled], y[labeled], x[unlabeled]


def train(data, **config):
    x_labeled, y_labeled, x_unlabeled = split(data)
    settings = dict(device="cpu", members=3, hidden=16, steps=60, evaluate_every=10) | config
    return sgan_ensemble_train(
        x_labeled, y_labeled, x_unlabeled, num_classes=2, config=SGANConfig(**settings)
    )


def test_each_member_starts_as_the_one_sgan_of_its_seed_and_computes_the_same():
    config = SGANConfig(hidden=16, members=3, seed=4)
    stacked, generators = stacked_from_members(5, 2, config)
    stacked.eval()
    generators.eval()
    x = torch.randn(7, 5)
    noise = torch.randn(3, 7, config.noise_size)
    logits, features = stacked(x.expand(3, -1, -1))
    generated = generators(noise)
    assert logits.shape == (3, 7, 3) and features.shape == (3, 7, 8)
    for member in range(3):
        single, generator = modules_seeded(
            4 + member * MEMBER_SEED_STEP,
            lambda: (Discriminator(5, 2, config).apply(weights_init), Generator(5, config)),
        )
        single.eval()
        generator.eval()
        alone_logits, alone_features = single(x)
        torch.testing.assert_close(logits[member], alone_logits)
        torch.testing.assert_close(features[member], alone_features)
        torch.testing.assert_close(generated[member], generator(noise[member]))
    assert not torch.allclose(logits[0], logits[1])  # the members differ


def test_stacked_batch_norm_normalises_each_members_batch_as_batchnorm1d():
    torch.manual_seed(0)
    stacked = StackedBatchNorm(2, 4)
    singles = [torch.nn.BatchNorm1d(4) for _ in range(2)]
    for _ in range(3):  # the running statistics too
        x = torch.randn(2, 16, 4) * torch.tensor([1.0, 5.0]).view(2, 1, 1) + 3
        out = stacked(x)
        for member, single in enumerate(singles):
            torch.testing.assert_close(out[member], single(x[member]))
    stacked.eval()
    x = torch.randn(2, 5, 4)
    for member, single in enumerate(singles):
        torch.testing.assert_close(stacked(x)[member], single.eval()(x[member]))


def test_a_one_step_dry_run_gives_mean_probabilities_and_an_embedding(small_data):
    model = train(small_data, steps=1)
    x = split(small_data)[2][:10]
    members = model.member_proba(x)
    assert members.shape == (3, 10, 2)
    np.testing.assert_allclose(model.predict_proba(x), members.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(model.predict_proba(x).sum(axis=1), 1.0, rtol=1e-5)
    # Small chunks give the same as one: chunking is by rows, never across members.
    np.testing.assert_allclose(
        model.predict_proba(x, batch_size=6), model.predict_proba(x), rtol=1e-5
    )
    assert model.embed(x[:4]).shape == (4, 3 * 8)
    assert model.embed(x[:0]).shape == (0, 24) and model.predict_proba(x[:0]).shape == (0, 2)


def test_same_seed_same_ensemble(small_data):
    first, second = train(small_data, seed=5), train(small_data, seed=5)
    x = split(small_data)[2]
    np.testing.assert_array_equal(first.predict_proba(x), second.predict_proba(x))
    assert not np.array_equal(first.predict_proba(x), train(small_data, seed=6).predict_proba(x))


def test_the_members_hold_out_folds_of_the_labels(small_data):
    y_labeled = split(small_data)[1]
    three = train(small_data, steps=10).validation
    assert three.shape == (3, len(y_labeled))
    # Three folds (validation_share 0.3): each label held out by exactly one member, so between
    # them the members learn from every label; each fold stratified.
    assert (three.sum(axis=0) == 1).all()
    assert sorted(three[:, y_labeled == 1].sum(axis=1)) == [13, 13, 14]
    # A fourth member starts a fresh shuffle; generated rows are never held out.
    never = np.zeros(len(y_labeled), bool)
    never[:5] = True
    x_labeled, _, x_unlabeled = split(small_data)
    four = sgan_ensemble_train(
        x_labeled,
        y_labeled,
        x_unlabeled,
        num_classes=2,
        config=SGANConfig(steps=1, members=4, hidden=16, device="cpu"),
        never_validate=never,
    ).validation
    assert not four[:, :5].any()
    assert not np.array_equal(four[3], four[0])


def test_learns_to_rank_fraud(small_data):
    x, y = small_data
    model = train(small_data, steps=300, hidden=128, evaluate_every=40)
    assert average_precision_score(y, model.predict_proba(x)[:, 1]) > 0.3


def test_each_member_returns_its_own_best_checkpoint(small_data):
    """An unstable learning rate: each member's validation AP rises and falls on its own. Each
    member returned is (within 5%) as good on its held-out rows as the best it was seen."""
    x_labeled, y_labeled, _ = split(small_data)
    model = train(
        small_data,
        steps=300,
        hidden=128,
        patience=1000,
        discriminator_lr=0.02,
        generator_lr=0.02,
        seed=1,
    )
    members = model.member_proba(x_labeled)[..., 1]
    chose_earlier = 0
    for member, held_out in enumerate(model.validation):
        seen = [entry["member_validation_ap"][member] for entry in model.history]
        returned = average_precision_score(y_labeled[held_out], members[member][held_out])
        assert returned >= 0.95 * max(seen) - 1e-4
        assert model.best_steps[member] == 10 * (1 + int(np.argmax(seen)))
        chose_earlier += model.best_steps[member] < 300
    assert chose_earlier > 0  # the guard had something to do
    assert model.best_step == max(model.best_steps)


def test_stops_once_half_the_members_stop_improving(small_data):
    model = train(small_data, steps=2000, patience=3, hidden=32, members=4)
    last = model.history[-1]["step"]
    assert last < 2000
    best = np.array(model.best_steps)
    assert (last - best >= 30).sum() >= 2  # half the members: 3 evaluations without a better AP
    assert (last - 10 - best >= 30).sum() < 2  # and not yet one evaluation earlier
    assert (best > 0).all()


def test_too_few_positives_trains_without_validation(small_data):
    x, y = small_data
    labeled = np.concatenate([np.flatnonzero(y == 1)[:3], np.flatnonzero(y == 0)[:30]])
    model = sgan_ensemble_train(
        x[labeled],
        y[labeled],
        x,
        num_classes=2,
        config=SGANConfig(steps=20, members=2, hidden=16, device="cpu"),
    )
    assert model.validation is None and model.history == [] and model.best_steps == [20, 20]


def test_trains_when_every_row_is_labeled(small_data):
    x, y = small_data
    model = sgan_ensemble_train(
        x,
        y,
        x[:0],
        num_classes=2,
        config=SGANConfig(steps=300, members=2, hidden=32, device="cpu"),
    )
    assert average_precision_score(y == 1, model.predict_proba(x)[:, 1]) > 0.5


@pytest.fixture(scope="module")
def committee(small_data):
    x, y = small_data
    labeled = np.concatenate([np.flatnonzero(y == 1)[:30], np.flatnonzero(y == 0)[:200]])
    config = replace(
        CommitteeConfig(use_trees=False),
        sgan=SGANConfig(steps=40, evaluate_every=10, hidden=16, members=4, device="cpu"),
    )
    return committee_train(x, labeled, y[labeled], num_classes=2, config=config)


def test_the_committee_trains_the_ensemble_when_asked_for_members(committee):
    assert isinstance(committee.sgan, SGANEnsemble)
    record = committee.sgan.record()
    assert record["members"] == 4 and len(record["best_steps"]) == 4
    assert {"validation_ap", "member_validation_ap"} <= set(record["history"][0])


def test_the_model_file_keeps_the_ensemble(committee, small_data, tmp_path):
    x, _ = small_data
    bundle = ModelBundle(["legit", "fraud"], FeatureScaler.fit(x), committee=committee)
    loaded = bundle_load(bundle_save(bundle, tmp_path / "model.pt")).committee
    assert isinstance(loaded.sgan, SGANEnsemble)
    assert loaded.sgan.best_steps == committee.sgan.best_steps
    np.testing.assert_array_equal(loaded.sgan.predict_proba(x), committee.sgan.predict_proba(x))
    np.testing.assert_allclose(loaded.predict_proba(x), committee.predict_proba(x), rtol=1e-6)

    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    payload["committee"]["sgan"]["discriminator"].pop("head.1.weight")
    torch.save(payload, tmp_path / "damaged.pt")
    with pytest.raises(ModelFileError, match="incomplete or damaged"):
        bundle_load(tmp_path / "damaged.pt")
