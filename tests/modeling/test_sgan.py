"""The SGAN: K+1 outputs, real/fake from the same logits, dry run, determinism, collapse guard."""

import numpy as np
import torch
from sklearn.metrics import average_precision_score

from modeling.sgan import Discriminator, SGANConfig, real_logit, sgan_train


def split(data):
    x, y = data
    labeled = np.concatenate([np.flatnonzero(y == 1)[:40], np.flatnonzero(y == 0)[:400]])
    unlabeled = np.setdiff1d(np.arange(len(y)), labeled)
    return x[labeled], y[labeled], x[unlabeled]


def test_discriminator_has_k_plus_one_outputs():
    discriminator = Discriminator(5, 3, SGANConfig(hidden=16))
    logits, features = discriminator(torch.zeros(7, 5))
    assert logits.shape == (7, 4) and features.shape == (7, 8)


def test_real_logit_is_the_log_odds_of_not_generated():
    logits = torch.tensor([[1.0, 2.0, 0.5], [-3.0, 0.0, 4.0]])
    p_generated = torch.softmax(logits, dim=1)[:, -1]
    np.testing.assert_allclose(torch.sigmoid(real_logit(logits)), 1 - p_generated, rtol=1e-6)


def test_one_step_dry_run(small_data):
    x_labeled, y_labeled, x_unlabeled = split(small_data)
    model = sgan_train(
        x_labeled,
        y_labeled,
        x_unlabeled,
        num_classes=2,
        config=SGANConfig(steps=1, hidden=16, device="cpu"),
    )
    proba = model.predict_proba(x_unlabeled[:10])
    assert proba.shape == (10, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert model.embed(x_unlabeled[:3]).shape == (3, 8)


def test_same_seed_same_model_on_cpu(small_data):
    x_labeled, y_labeled, x_unlabeled = split(small_data)
    config = SGANConfig(steps=30, evaluate_every=10, hidden=16, device="cpu", seed=5)
    first = sgan_train(x_labeled, y_labeled, x_unlabeled, num_classes=2, config=config)
    second = sgan_train(x_labeled, y_labeled, x_unlabeled, num_classes=2, config=config)
    np.testing.assert_array_equal(
        first.predict_proba(x_unlabeled), second.predict_proba(x_unlabeled)
    )


def test_learns_to_rank_fraud(small_data):
    x_labeled, y_labeled, x_unlabeled = split(small_data)
    x, y = small_data
    model = sgan_train(
        x_labeled, y_labeled, x_unlabeled, num_classes=2, config=SGANConfig(steps=300, device="cpu")
    )
    assert average_precision_score(y, model.predict_proba(x)[:, 1]) > 0.3


def test_collapse_guard_returns_the_best_checkpoint(small_data):
    """A learning rate that makes training unstable: validation AP rises, then falls. The model
    returned must be (within 5%) as good on the validation labels as the best one seen."""
    x_labeled, y_labeled, x_unlabeled = split(small_data)
    config = SGANConfig(
        steps=400,
        evaluate_every=10,
        patience=1000,
        discriminator_lr=0.02,
        generator_lr=0.02,
        device="cpu",
        seed=1,
    )
    model = sgan_train(x_labeled, y_labeled, x_unlabeled, num_classes=2, config=config)
    seen = [entry["validation_ap"] for entry in model.history]
    validation = model.validation_indices
    returned = average_precision_score(
        y_labeled[validation], model.predict_proba(x_labeled[validation])[:, 1]
    )
    assert len(seen) == 40
    assert returned >= 0.95 * max(seen)
    assert max(seen) - seen[-1] > 0.0 or model.best_step == 400  # the guard had something to do


def test_early_stopping_stops(small_data):
    x_labeled, y_labeled, x_unlabeled = split(small_data)
    config = SGANConfig(steps=2000, evaluate_every=10, patience=3, device="cpu")
    model = sgan_train(x_labeled, y_labeled, x_unlabeled, num_classes=2, config=config)
    assert model.history[-1]["step"] < 2000
    assert model.history[-1]["step"] - model.best_step == 30


def test_too_few_positives_trains_without_validation(small_data):
    x, y = small_data
    labeled = np.concatenate([np.flatnonzero(y == 1)[:3], np.flatnonzero(y == 0)[:30]])
    model = sgan_train(
        x[labeled], y[labeled], x, num_classes=2, config=SGANConfig(steps=20, device="cpu")
    )
    assert model.validation_indices is None and model.history == [] and model.best_step == 20


def test_too_few_legitimate_labels_trains_without_validation(small_data):
    """A cold start that found frauds almost only: one legitimate label held out would rank
    below every fraud at every checkpoint, and the first checkpoint would be kept."""
    x, y = small_data
    labeled = np.concatenate([np.flatnonzero(y == 1)[:40], np.flatnonzero(y == 0)[:2]])
    config = SGANConfig(steps=60, evaluate_every=10, patience=2, device="cpu")
    model = sgan_train(x[labeled], y[labeled], x, num_classes=2, config=config)
    assert model.validation_indices is None and model.history == [] and model.best_step == 60
    # With ten legitimate labels there are three to hold out, and checkpoints are judged again.
    labeled = np.concatenate([np.flatnonzero(y == 1)[:40], np.flatnonzero(y == 0)[:10]])
    model = sgan_train(x[labeled], y[labeled], x, num_classes=2, config=config)
    assert len(model.validation_indices) == 12 + 3 and model.history


def test_trains_when_every_row_is_labeled(small_data):
    x, y = small_data
    model = sgan_train(
        x, y, x[:0], num_classes=2, config=SGANConfig(steps=300, hidden=32, device="cpu", seed=0)
    )
    scores = model.predict_proba(x)[:, 1]
    assert average_precision_score(y == 1, scores) > 0.5
