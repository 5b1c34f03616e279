"""The committee's tree member: its tables score as scikit-learn's own model does, it learns what a
sum of inputs cannot, and it joins the committee only when configured."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score

from modeling import committee as committee_module
from modeling.committee import CommitteeConfig, committee_train
from modeling.explain import occlusion_reasons
from modeling.features import FeatureScaler
from modeling.model_files import ModelBundle, ModelFileError, bundle_load, bundle_save
from modeling.pseudo import PseudoLabels
from modeling.sgan import SGANConfig
from modeling.trees import TreesClassifier, TreesConfig
from modeling.weak import WeakClassifier, WeakConfig

QUICK = TreesConfig(iterations=30, background_rows=0)


@pytest.fixture(scope="module")
def interaction():
    """Fraud where two inputs are both high or both low: no sum of inputs ranks it."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3000, 6))
    y = ((x[:, 0] * x[:, 1]) > 1.0).astype(np.int64)
    return x, y


def _sklearn_twin(config: TreesConfig, x, y) -> HistGradientBoostingClassifier:
    weights = np.zeros(len(y))
    for label in np.unique(y):
        weights[y == label] = 1.0 / np.sum(y == label)
    return HistGradientBoostingClassifier(
        max_iter=config.iterations,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        max_depth=config.max_depth,
        min_samples_leaf=config.min_samples_leaf,
        early_stopping=False,
        random_state=config.seed,
    ).fit(x, y, sample_weight=weights * len(y) / weights.sum())


@pytest.mark.parametrize("classes", [2, 3])
def test_the_tables_score_as_scikit_learn_does(interaction, classes):
    x, y = interaction
    if classes == 3:
        y = np.where((y == 0) & (x[:, 2] > 1.0), 2, y)
    trees = TreesClassifier(classes, QUICK).fit(x, y)
    twin = _sklearn_twin(QUICK, x, y)
    rows = np.random.default_rng(1).normal(size=(500, 6)) * 2
    np.testing.assert_allclose(trees.predict_proba(rows), twin.predict_proba(rows), atol=1e-12)
    assert trees.depth <= QUICK.max_depth


def test_trees_rank_an_interaction_a_sum_cannot(interaction):
    x, y = interaction
    train, test = slice(0, 2000), slice(2000, None)
    trees = TreesClassifier(2, QUICK).fit(x[train], y[train])
    weak = WeakClassifier(2, WeakConfig(unlabeled_as_background=False)).fit(x[train], y[train])
    trees_ap = average_precision_score(y[test], trees.predict_proba(x[test])[:, 1])
    weak_ap = average_precision_score(y[test], weak.predict_proba(x[test])[:, 1])
    assert trees_ap > 0.8 > weak_ap + 0.3


def test_the_background_sample_gives_frauds_something_to_be_told_from(interaction):
    x, y = interaction
    frauds = x[y == 1][:50]
    alone = TreesClassifier(2, QUICK).fit(frauds, np.ones(50, np.int64))
    np.testing.assert_array_equal(alone.predict_proba(x[:5]), [[0.0, 1.0]] * 5)  # one class
    config = replace(QUICK, background_rows=1000, background_weight=0.5)
    with_background = TreesClassifier(2, config).fit(
        frauds, np.ones(50, np.int64), x_unlabeled=x[y == 0]
    )
    scores = with_background.predict_proba(x)[:, 1]
    assert average_precision_score(y, scores) > 0.5
    again = TreesClassifier(2, config).fit(frauds, np.ones(50, np.int64), x_unlabeled=x[y == 0])
    np.testing.assert_array_equal(again.predict_proba(x), with_background.predict_proba(x))


def test_the_committee_has_trees_unless_turned_off(small_data, tmp_path):
    x, y = small_data
    labeled = np.concatenate([np.flatnonzero(y == 1)[:20], np.flatnonzero(y == 0)[:100]])
    with_trees = replace(
        CommitteeConfig(),
        sgan=SGANConfig(steps=10, hidden=16, device="cpu"),
        trees=replace(QUICK, background_rows=500),
    )
    assert with_trees.use_trees  # the default
    without = committee_train(
        x, labeled, y[labeled], num_classes=2, config=replace(with_trees, use_trees=False)
    )
    assert without.trees is None and "trees" not in without.member_proba(x[:5])
    committee = committee_train(x, labeled, y[labeled], num_classes=2, config=with_trees)
    members = committee.member_proba(x[:50])
    assert set(members) == {"weak", "sgan", "trees"}
    assert committee.trees_share == with_trees.trees_share_prior  # no record yet
    assert "trees" in committee.train_seconds
    # The explanation reruns the trees with each input set to typical.
    reasons = occlusion_reasons(committee, x[:5], positive=1)
    assert len(reasons) == 5 and all(reasons)
    # Too few frauds: no trees (as for the SGAN).
    few = np.concatenate([np.flatnonzero(y == 1)[:3], np.flatnonzero(y == 0)[:100]])
    assert committee_train(x, few, y[few], num_classes=2, config=with_trees).trees is None
    # A model file whose tree tables do not match is refused.
    bundle = ModelBundle(["legit", "fraud"], FeatureScaler.fit(x), committee=committee)
    path = bundle_save(bundle, tmp_path / "model.pt")
    payload = torch.load(path, weights_only=True)
    payload["committee"]["trees"]["outputs"] = payload["committee"]["trees"]["outputs"][:-1]
    torch.save(payload, path)
    with pytest.raises(ModelFileError, match="incomplete or damaged"):
        bundle_load(path)


def test_the_trees_learn_from_human_labels_only(small_data, monkeypatch):
    """Pseudo-labels are the previous version's confident picks: trees fitted on them learned
    those picks back, so they train on people's answers and the background alone."""
    x, y = small_data
    labeled = np.concatenate([np.flatnonzero(y == 1)[:20], np.flatnonzero(y == 0)[:100]])
    given = {}
    original = committee_module.TreesClassifier.fit

    def spy(self, x_labeled, y_labeled, *, x_unlabeled=None, weights=None):
        given.update(x=x_labeled, y=y_labeled, weights=weights, background=x_unlabeled)
        return original(self, x_labeled, y_labeled, x_unlabeled=x_unlabeled, weights=weights)

    monkeypatch.setattr(committee_module.TreesClassifier, "fit", spy)
    pseudo_rows = np.setdiff1d(np.arange(300), labeled)[:50]
    config = replace(CommitteeConfig(use_sgan=False), trees=replace(QUICK, background_rows=200))
    committee_train(
        x,
        labeled,
        y[labeled],
        num_classes=2,
        config=config,
        pseudo_labels=PseudoLabels(pseudo_rows, np.zeros(50, np.int64), np.ones(50), 0.3),
    )
    np.testing.assert_array_equal(given["x"], x[labeled])
    np.testing.assert_array_equal(given["y"], y[labeled])
    assert given["weights"] is None
    assert len(given["background"]) == len(x) - len(labeled)  # the pool, sampled inside
