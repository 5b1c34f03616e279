"""The weak classifier: (n, K) probabilities, class balance, learning from the unlabeled pool."""

from dataclasses import replace

import numpy as np
from sklearn.metrics import average_precision_score

from modeling.weak import WeakClassifier, WeakConfig


def test_probabilities_have_one_column_per_class_and_sum_to_one(small_data):
    x, y = small_data
    model = WeakClassifier(2).fit(x[:500], y[:500])
    proba = model.predict_proba(x)
    assert proba.shape == (len(x), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_ranks_fraud_above_legit(small_data):
    x, y = small_data
    model = WeakClassifier(2).fit(x[:3000], y[:3000])
    assert average_precision_score(y[3000:], model.predict_proba(x[3000:])[:, 1]) > 0.3


def test_unlabeled_pool_helps_when_labels_are_few_and_biased(small_data):
    """Few labels, legit ones chosen near the frauds (as active learning picks them)."""
    x, y = small_data
    frauds = np.flatnonzero(y[:3000] == 1)[:20]
    legit = np.flatnonzero(y[:3000] == 0)
    center = x[frauds].mean(axis=0)
    nearest_legit = legit[np.argsort(np.linalg.norm(x[legit] - center, axis=1))[:20]]
    labeled = np.concatenate([frauds, nearest_legit])
    unlabeled = np.setdiff1d(np.arange(3000), labeled)
    alone = WeakClassifier(2, WeakConfig(unlabeled_as_background=False)).fit(x[labeled], y[labeled])
    with_pool = WeakClassifier(2).fit(x[labeled], y[labeled], x_unlabeled=x[unlabeled])
    ap = lambda m: average_precision_score(y[3000:], m.predict_proba(x[3000:])[:, 1])  # noqa: E731
    assert ap(with_pool) > ap(alone)


def test_one_class_only_predicts_it():
    x = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    model = WeakClassifier(2, WeakConfig(unlabeled_as_background=False)).fit(x, np.zeros(10, int))
    assert np.all(model.predict_proba(x)[:, 0] > 0.99)


def test_more_than_two_classes(small_data):
    x, y = small_data
    three = y.copy()
    three[(y == 0) & (x[:, 0] > 1)] = 2
    proba = WeakClassifier(3).fit(x, three).predict_proba(x)
    assert proba.shape == (len(x), 3)
    assert average_precision_score(three == 2, proba[:, 2]) > 0.9


def test_state_round_trip(small_data):
    x, y = small_data
    model = WeakClassifier(2).fit(x[:800], y[:800], x_unlabeled=x[800:])
    again = WeakClassifier.from_state(model.to_state())
    np.testing.assert_allclose(again.predict_proba(x), model.predict_proba(x), rtol=1e-6)


def test_labeled_legit_rows_keep_their_share_against_a_large_pool():
    """Two labeled legit rows beside the frauds must still shape the boundary."""
    rng = np.random.default_rng(0)
    pool = rng.normal(0, 1, (20_000, 2)).astype(np.float32)
    frauds = rng.normal([3, 0], 0.3, (20, 2)).astype(np.float32)
    hard_legit = rng.normal([3, 1.5], 0.3, (20, 2)).astype(np.float32)
    x = np.vstack([frauds, hard_legit])
    y = np.array([1] * 20 + [0] * 20)
    probe = np.array([[3, 1.5]], np.float32)  # where the hard legit rows are
    with_share = WeakClassifier(2, WeakConfig(labeled_background_share=0.5)).fit(
        x, y, x_unlabeled=pool
    )
    no_share = WeakClassifier(2, WeakConfig(labeled_background_share=0.0)).fit(
        x, y, x_unlabeled=pool
    )
    assert with_share.predict_proba(probe)[0, 1] < no_share.predict_proba(probe)[0, 1]


def test_class_balance_runs_from_equal_class_totals_to_the_data_s_own_prior(small_data):
    """1 (the default) is scikit-learn's "balanced" weighting, 0 no reweighting at all, and
    a value between moves the fraud probabilities between the two."""
    from sklearn.linear_model import LogisticRegression

    x, y = small_data
    x, y = x[:3000], y[:3000]

    def fraud_logits(model):
        return model.logits(x)[:, 1] - model.logits(x)[:, 0]

    def reference(class_weight):
        strength = WeakConfig().regularization  # without a pool, all rows are labeled rows
        fitted = LogisticRegression(C=strength, max_iter=1000, class_weight=class_weight)
        fitted = fitted.fit(x, y)
        return fitted.decision_function(x)

    alone = WeakConfig(unlabeled_as_background=False)
    fits = {
        balance: WeakClassifier(2, replace(alone, class_balance=balance)).fit(x, y)
        for balance in (0.0, 0.5, 1.0)
    }
    np.testing.assert_allclose(fraud_logits(fits[1.0]), reference("balanced"), atol=0.05)
    np.testing.assert_allclose(fraud_logits(fits[0.0]), reference(None), atol=0.05)
    # Fraud is rare: weighing it up raises every fraud logit, and halfway sits between.
    mean = {balance: float(fraud_logits(model).mean()) for balance, model in fits.items()}
    assert mean[0.0] < mean[0.5] < mean[1.0]


def test_the_penalty_holds_against_the_labels_however_large_the_pool():
    """The unlabeled pool says where legitimate spending lies, not what fraud looks like: twice
    the pool (the same rows again) leaves the fit as it was, while twice the labels (each
    labeled row at double weight) loosens the penalty and sharpens the model."""
    rng = np.random.default_rng(1)
    pool = rng.normal(0, 1, (5_000, 3)).astype(np.float32)
    x = rng.normal([2.5, 0, 0], 0.5, (15, 3)).astype(np.float32)  # labeled frauds
    y = np.ones(15, np.int64)

    def fraud_coefficients(pool_rows, weights=None):
        model = WeakClassifier(2).fit(x, y, x_unlabeled=pool_rows, weights=weights)
        return model.coefficients[1] - model.coefficients[0]

    once = fraud_coefficients(pool)
    np.testing.assert_allclose(fraud_coefficients(np.vstack([pool, pool])), once, rtol=1e-2)
    doubled = fraud_coefficients(pool, weights=np.full(len(y), 2.0))
    assert np.linalg.norm(doubled) > 1.2 * np.linalg.norm(once)
