"""The committee: which members train, what they train on, how their probabilities combine."""

from dataclasses import replace

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from modeling import committee as committee_module
from modeling.anomaly.ensemble import AnomalyConfig, anomaly_ensemble_fit
from modeling.committee import CommitteeConfig, committee_train, share_evidence_extend
from modeling.committee_shares import ShareEvidence, average_precision_weighted, shares_learn
from modeling.pseudo import PseudoLabels
from modeling.sgan import SGANConfig

FAST = replace(CommitteeConfig(), sgan=SGANConfig(steps=10, hidden=16, device="cpu"))


@pytest.fixture
def labeled(small_data):
    _, y = small_data
    return np.concatenate([np.flatnonzero(y == 1)[:20], np.flatnonzero(y == 0)[:100]])


@pytest.fixture
def captured(monkeypatch):
    """What the weak classifier was given."""
    calls = {}
    original = committee_module.WeakClassifier.fit

    def spy(self, x_labeled, y_labeled, *, x_unlabeled=None, weights=None):
        calls.update(
            x_labeled=x_labeled, y_labeled=y_labeled, x_unlabeled=x_unlabeled, weights=weights
        )
        return original(self, x_labeled, y_labeled, x_unlabeled=x_unlabeled, weights=weights)

    monkeypatch.setattr(committee_module.WeakClassifier, "fit", spy)
    return calls


@pytest.fixture(scope="module")
def detectors(small_data):
    x, _ = small_data
    config = AnomalyConfig(detectors=("autoencoder", "isolation_forest"), device="cpu")
    config.autoencoder = replace(config.autoencoder, epochs=1)
    config.isolation_forest = replace(config.isolation_forest, trees=10)
    return anomaly_ensemble_fit(x, config)


def test_all_members_and_their_normalised_geometric_mean(small_data, labeled, detectors):
    x, y = small_data
    committee = committee_train(
        x, labeled, y[labeled], num_classes=2, config=FAST, anomaly=detectors
    )
    members = committee.member_proba(x[:50])
    assert set(members) == {"weak", "sgan", "trees", "anomaly"}
    # The anomaly member: the rank among the rows the detectors learned from, as a probability.
    rank = np.clip(detectors.anomaly_rank(x[:50]), 0.0005, 0.9995)  # never quite 0 or 1
    np.testing.assert_allclose(members["anomaly"][:, 1], rank)
    far = committee.member_proba(x[:3] * 50)["anomaly"]  # past every training row
    assert np.all(far[:, 1] > 0.99) and np.all(far[:, 1] <= 0.9995)
    np.testing.assert_allclose(members["anomaly"].sum(axis=1), 1.0)
    # No record of answers yet: the priors.
    sgan, anomaly, trees = committee.shares
    assert (sgan, anomaly, trees) == (0.5, 0.4, 0.25)
    # The trees take their share of the classifiers' exponents first; weak and SGAN split the
    # rest; the anomaly rank's exponent comes on top.
    product = (
        members["weak"] ** ((1 - trees) * (1 - sgan))
        * members["sgan"] ** ((1 - trees) * sgan)
        * members["trees"] ** trees
        * members["anomaly"] ** anomaly
    )
    expected = product / product.sum(axis=1, keepdims=True)
    combined = committee.predict_proba(x[:50])
    np.testing.assert_allclose(combined, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(combined.sum(axis=1), 1.0, rtol=1e-6)
    assert set(committee.train_seconds) == {"weak", "sgan", "trees"}  # each member's own
    assert all(seconds > 0 for seconds in committee.train_seconds.values())


def test_no_sgan_without_enough_frauds_or_when_turned_off(small_data, labeled):
    x, y = small_data
    few = np.concatenate([np.flatnonzero(y == 1)[:2], np.flatnonzero(y == 0)[:50]])
    assert committee_train(x, few, y[few], num_classes=2, config=FAST).sgan is None
    off = replace(FAST, use_sgan=False, use_trees=False)
    committee = committee_train(x, labeled, y[labeled], num_classes=2, config=off)
    assert committee.sgan is None
    assert set(committee.train_seconds) == {"weak"}
    np.testing.assert_allclose(  # the same, up to the mix's log and exp
        committee.predict_proba(x[:5]), committee.weak.predict_proba(x[:5]), rtol=1e-12
    )


def test_pseudo_labels_join_at_their_weight_but_never_over_a_human_label(
    small_data, labeled, captured
):
    x, y = small_data
    human_row = int(labeled[0])
    extra_rows = np.setdiff1d(np.arange(200, 260), labeled)[:50]
    pseudo = PseudoLabels(
        indices=np.concatenate([[human_row], extra_rows]),
        classes=np.zeros(51, np.int64),
        probabilities=np.full(51, 0.999),
        weight=0.3,
    )
    committee_train(x, labeled, y[labeled], num_classes=2, config=FAST, pseudo_labels=pseudo)
    assert len(captured["y_labeled"]) == len(labeled) + 50
    assert captured["y_labeled"][0] == y[human_row]  # the human's class, not the pseudo-label's
    np.testing.assert_array_equal(captured["weights"][len(labeled) :], 0.3)
    np.testing.assert_array_equal(captured["weights"][: len(labeled)], 1.0)


def test_previous_suspects_are_left_out_of_the_background(small_data, labeled, captured):
    x, y = small_data
    scores = np.zeros(len(x))
    suspects = np.setdiff1d(np.arange(len(x)), labeled)[:30]
    scores[suspects] = 1.0
    config = replace(FAST, suspect_share=0.01)
    committee_train(x, labeled, y[labeled], num_classes=2, config=config, previous_scores=scores)
    unlabeled_count = len(x) - len(labeled)
    background = captured["x_unlabeled"]
    assert len(background) == unlabeled_count - int(unlabeled_count * 0.01)
    kept = {row.tobytes() for row in background}
    assert not any(x[row].tobytes() in kept for row in suspects[: int(unlabeled_count * 0.01)])


def _proba(fraud_scores):
    fraud_scores = np.asarray(fraud_scores, float)
    return np.stack([1 - fraud_scores, fraud_scores], axis=1)


def test_the_shares_lean_to_the_members_that_ranked_new_answers_better():
    rng = np.random.default_rng(0)
    labels = np.zeros(200, np.int64)
    labels[:10] = 1
    sharp = _proba(np.where(labels == 1, 0.9, 0.1))
    noise = [_proba(rng.uniform(0.05, 0.95, 200)) for _ in range(3)]
    config = CommitteeConfig(
        share_grid=(0.2, 0.5, 0.8),
        anomaly_grid=(0.0, 0.4, 0.8),
        anomaly_share_prior=0.4,
        share_prior_positives=10,
        share_resamples=1,  # the record's own best grid point
    )

    def learn(weak, sgan, anomaly=None, labels=labels):
        members = {"weak": weak, "sgan": sgan} | ({} if anomaly is None else {"anomaly": anomaly})
        shares = shares_learn(ShareEvidence(members, labels), config)
        assert shares.trees == config.trees_share_prior  # no tree member on record: its prior
        return shares[:2]

    # 10 frauds on record against a prior of 10: half the way from the prior to the best pair.
    assert learn(noise[0], sharp) == pytest.approx((0.65, 0.4))  # no anomaly member: its prior
    assert learn(sharp, noise[0]) == pytest.approx((0.35, 0.4))
    # The rank alone is sharp: as much of it as the grid has (0.8), half way from 0.4.
    assert learn(noise[0], noise[1], sharp)[1] == pytest.approx(0.6)
    # A share the config fixes stays as given; the other is learned beside it.
    fixed = replace(config, sgan_share=0.3)
    members = {"weak": noise[0], "sgan": noise[1], "anomaly": sharp}
    assert shares_learn(ShareEvidence(members, labels), fixed)[:2] == pytest.approx((0.3, 0.6))
    assert shares_learn(None, fixed)[:2] == (0.3, 0.4)
    # All sharp: every pair ties, and the tie goes to the priors.
    assert learn(sharp, sharp, sharp) == pytest.approx((0.5, 0.4))
    # No record, or one class only: nothing to judge by.
    assert shares_learn(None, config) == (0.5, 0.4, 0.25)
    assert learn(noise[0], sharp, labels=np.zeros(200, np.int64)) == (0.5, 0.4)
    # The trees alone are sharp: their share goes half way from its prior (0.25) to the least
    # of the grid that ranks every fraud first (0.5; more ties, and ties go to the prior); the
    # weak model and the SGAN, both noise, keep theirs.
    members = {"weak": noise[0], "sgan": noise[1], "trees": sharp}
    assert shares_learn(ShareEvidence(members, labels), config) == pytest.approx((0.5, 0.4, 0.375))
    assert shares_learn(ShareEvidence(members, labels), replace(config, trees_grid=(0.0, 0.25)))[
        2
    ] == pytest.approx(0.25)  # the grid's best is its prior: nothing to move by


def test_evidence_is_the_previous_members_on_answers_they_had_not_seen(
    small_data, labeled, detectors
):
    x, y = small_data
    first, second = labeled[::2], labeled[1::2]
    previous = committee_train(x, first, y[first], num_classes=2, config=FAST, anomaly=detectors)
    assert share_evidence_extend(None, x[second], y[second]) is None  # no previous committee
    evidence = share_evidence_extend(previous, x[second], y[second])
    members = previous.member_proba(x[second])
    assert set(evidence.members) == {"weak", "sgan", "trees", "anomaly"}
    for name, proba in members.items():
        np.testing.assert_array_equal(evidence.members[name], proba)
    np.testing.assert_array_equal(evidence.labels, y[second])
    committee = committee_train(
        x,
        labeled,
        y[labeled],
        num_classes=2,
        config=FAST,
        share_evidence=evidence,
        anomaly=detectors,
    )
    assert committee.shares == shares_learn(evidence, FAST)
    assert committee.share_evidence is evidence  # carried on to the next version
    # The next round appends to the record.
    later = share_evidence_extend(committee, x[:5], y[:5])
    assert len(later.labels) == len(second) + 5
    np.testing.assert_array_equal(later.labels[: len(second)], y[second])
    # A member that joins since starts the record again: mixes compare rows all members scored.
    weak_only = replace(committee, sgan=None, anomaly=None, trees=None)
    record = share_evidence_extend(weak_only, x[:5], y[:5])
    assert set(record.members) == {"weak"}
    restarted = share_evidence_extend(replace(committee, share_evidence=record), x[5:8], y[5:8])
    assert set(restarted.members) == {"weak", "sgan", "trees", "anomaly"}
    assert len(restarted.labels) == 3


def test_fixed_shares_are_used_as_given(small_data, labeled, detectors):
    x, y = small_data
    previous = committee_train(x, labeled[::2], y[labeled[::2]], num_classes=2, config=FAST)
    evidence = share_evidence_extend(previous, x[labeled[1::2]], y[labeled[1::2]])
    committee = committee_train(
        x,
        labeled,
        y[labeled],
        num_classes=2,
        config=replace(FAST, sgan_share=0.3, anomaly_share=0.0),
        share_evidence=evidence,
        anomaly=detectors,
    )
    assert (committee.sgan_share, committee.anomaly_share) == (0.3, 0.0)
    np.testing.assert_allclose(  # a zero share leaves the anomaly member out of the mix
        committee.predict_proba(x[:20]),
        replace(committee, anomaly=None).predict_proba(x[:20]),
    )


def test_weighted_average_precision_is_scikit_learns():
    rng = np.random.default_rng(1)
    is_positive = rng.random(300) < 0.2
    scores = np.round(rng.random(300) + 0.3 * is_positive, 2)  # many ties
    weights = rng.poisson(1.0, (4, 300)).astype(float)
    weights[3, is_positive] = 0  # a resample without a fraud: no average precision
    ours = average_precision_weighted(scores, is_positive, weights)
    for row in range(3):
        expected = average_precision_score(is_positive, scores, sample_weight=weights[row])
        assert ours[row] == pytest.approx(expected, abs=1e-12)
    assert np.isnan(ours[3])


def test_resampled_shares_move_less_with_each_round_of_answers():
    # Two members of like quality: on the record alone the best share jumps a grid step at a
    # time as answers come; the resamples' average moves in smaller steps, inside the grid.
    rng = np.random.default_rng(0)
    labels = (rng.random(600) < 0.15).astype(np.int64)
    signal = labels + rng.normal(0, 0.8, 600)
    weak = _proba(1 / (1 + np.exp(-(signal + rng.normal(0, 0.7, 600)))))
    sgan = _proba(1 / (1 + np.exp(-(signal + rng.normal(0, 0.7, 600)))))
    config = CommitteeConfig(share_grid=(0.2, 0.5, 0.8), share_prior_positives=0)

    def path(resamples):
        settings = replace(config, share_resamples=resamples)
        return np.array(
            [
                shares_learn(
                    ShareEvidence({"weak": weak[:n], "sgan": sgan[:n]}, labels[:n]), settings
                ).sgan
                for n in range(100, 601, 25)
            ]
        )

    alone, averaged = path(1), path(32)
    assert np.abs(np.diff(alone)).max() == pytest.approx(0.3)  # a whole grid step
    assert np.abs(np.diff(averaged)).max() < 0.5 * np.abs(np.diff(alone)).max()
    assert np.all((averaged >= 0.2) & (averaged <= 0.8))
    np.testing.assert_array_equal(averaged, path(32))  # seeded: the same record, the same shares
