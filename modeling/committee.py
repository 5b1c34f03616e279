"""The committee that scores transactions: the weak classifier, the SGAN and (when configured) the
boosted trees, trained together on human labels, the previous version's pseudo-labels and the
unlabeled pool, and the anomaly detectors' combined rank."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from modeling.anomaly.ensemble import AnomalyEnsemble
from modeling.committee_shares import (
    ShareEvidence,
    Shares,
    geometric_mean,
    mix_weights,
    shares_learn,
)
from modeling.pseudo import PseudoLabelConfig, PseudoLabels, pseudo_labels_select
from modeling.sgan import SGAN, SGANConfig, sgan_train
from modeling.sgan_ensemble import SGANEnsemble, sgan_ensemble_train
from modeling.synthesis.augment import AugmentConfig, frauds_generate
from modeling.trees import TreesClassifier, TreesConfig
from modeling.weak import WeakClassifier, WeakConfig


@dataclass
class CommitteeConfig:
    use_sgan: bool = True
    # The classifiers' probabilities are combined by a weighted geometric mean (the SGAN's share
    # against the weak classifier's), and the anomaly rank multiplies the fraud odds by
    # (rank / (1 - rank)) ** anomaly_share. None learns a share at each training from the
    # members' record on answers they had not seen (`ShareEvidence`).
    sgan_share: float | None = None
    anomaly_share: float | None = None
    share_grid: tuple[float, ...] = (0.2, 0.35, 0.5, 0.65, 0.8, 0.95)
    anomaly_grid: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25)
    # Where the shares start, and stay while the record is thin: with n frauds on record they move
    # n / (n + share_prior_positives) of the way to the record's best. Mixing in the anomaly rank
    # at about this strength lifted test AP in every round of the label-efficiency benchmark, on
    # the reference and on generated data.
    sgan_share_prior: float = 0.5
    anomaly_share_prior: float = 0.4
    share_prior_positives: int = 10
    # The best shares found on this many bootstrap resamples of the record and averaged (1: the
    # record's own best grid point), so one answer more does not swing a share across the grid.
    share_resamples: int = 32
    share_seed: int = 0
    min_positives_for_sgan: int = 4  # below this the SGAN has nothing to learn fraud from
    # Boosted trees (modeling/trees.py) as a third classifier: they take `trees_share` of the
    # classifiers' exponents, the weak model and the SGAN sharing the rest as before. Learned
    # like the other shares, from `trees_share_prior` (see `shares_learn`).
    use_trees: bool = True
    trees_share: float | None = None
    trees_grid: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75)
    trees_share_prior: float = 0.25
    min_positives_for_trees: int = 4
    trees: TreesConfig = field(default_factory=TreesConfig)
    use_pseudo_labels: bool = True
    weak: WeakConfig = field(default_factory=WeakConfig)
    sgan: SGANConfig = field(default_factory=SGANConfig)
    pseudo: PseudoLabelConfig = field(default_factory=PseudoLabelConfig)
    positive_class: int = 1
    # Unlabeled rows the previous version found most suspicious are left out of the background
    # (legit) class: they hold most of the frauds nobody has labeled yet.
    suspect_share: float = 0.01
    # Generated frauds added to the weak model's and the SGAN's training at a low weight
    # (modeling/synthesis/augment.py); off (0 rows) until it earns its place.
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class Committee:
    weak: WeakClassifier
    sgan: SGAN | SGANEnsemble | None
    config: CommitteeConfig
    anomaly: AnomalyEnsemble | None = None  # the anomaly member, when fitted with its ranks
    train_seconds: dict[str, float] = field(default_factory=dict)  # by member, as trained
    sgan_share: float = 0.5  # the SGAN's weight against the weak classifier, as trained
    anomaly_share: float = 0.0  # the anomaly score's weight in the whole mix, as trained
    share_evidence: ShareEvidence | None = None  # what the shares were learned from, carried on
    trees: TreesClassifier | None = None
    trees_share: float = 0.0  # the trees' share of the classifiers' weight, as trained

    @property
    def shares(self) -> Shares:
        return Shares(self.sgan_share, self.anomaly_share, self.trees_share)

    def member_proba(
        self, x: np.ndarray, anomaly_score: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Each member's class probabilities of `x`; `anomaly_score`: the anomaly detectors'
        combined score of `x`, when already computed (the isolation forest's is not cheap)."""
        members = {"weak": self.weak.predict_proba(x)}
        if self.sgan is not None:
            members["sgan"] = self.sgan.predict_proba(x)
        if self.trees is not None:
            members["trees"] = self.trees.predict_proba(x)
        if self.anomaly is not None and self.anomaly.ranks is not None:
            rank = (
                self.anomaly.anomaly_rank(x)
                if anomaly_score is None
                else self.anomaly.ranks.rank(anomaly_score)
            )
            members["anomaly"] = anomaly_proba(rank, self.weak.num_classes, self.config)
        return members

    def predict_proba(
        self, x: np.ndarray, members: dict[str, np.ndarray] | None = None
    ) -> np.ndarray:
        members = members or self.member_proba(x)
        return geometric_mean(members, mix_weights(members, self.shares))


def anomaly_proba(rank: np.ndarray, num_classes: int, config: CommitteeConfig) -> np.ndarray:
    """The anomaly rank (0-1 among the rows the detectors learned from) as class
    probabilities: the positive class gets the rank, the other classes share the rest. Ranks are
    kept half a quantile step (of 1,000) inside 0-1: a row past every training row is 'more
    unusual than all', not infinitely likely to be fraud."""
    rank = np.clip(rank, 0.0005, 0.9995)
    proba = np.repeat(((1 - rank) / max(1, num_classes - 1))[:, None], num_classes, axis=1)
    proba[:, config.positive_class] = rank
    return proba


def share_evidence_extend(
    previous: Committee | None, x_answered: np.ndarray, labels: np.ndarray
) -> ShareEvidence | None:
    """The previous committee's record, plus its members' probabilities for `x_answered`: rows
    answered since it was trained. Rows it was trained on must not be passed."""
    if previous is None:
        return None
    evidence = previous.share_evidence
    if not len(labels):
        return evidence
    members = previous.member_proba(x_answered)
    if evidence is None:
        return ShareEvidence(members, np.asarray(labels, np.int64))
    return evidence.extended(members, labels)


def committee_train(
    x_pool: np.ndarray,
    labeled: np.ndarray,
    labels: np.ndarray,
    *,
    num_classes: int,
    config: CommitteeConfig | None = None,
    pseudo_labels: PseudoLabels | None = None,
    previous_scores: np.ndarray | None = None,
    share_evidence: ShareEvidence | None = None,
    anomaly: AnomalyEnsemble | None = None,
    seed: int = 0,
    on_progress: Callable[[str, float], None] | None = None,
) -> Committee:
    """`labeled` indexes `x_pool`; `pseudo_labels` (indices into `x_pool`) come from the previous
    version and are used at their lower weight, never for a row that has a human label now.
    `anomaly` (the detectors fitted on the pool) joins as the anomaly member;
    `share_evidence` (see `share_evidence_extend`) sets the members' shares unless the config
    fixes them. `on_progress(member, share done)` reports how far training has got."""
    config = config or CommitteeConfig()
    is_labeled = np.zeros(len(x_pool), bool)
    is_labeled[labeled] = True
    x_labeled, y_labeled = x_pool[labeled], np.asarray(labels)
    weights = np.ones(len(labeled))
    if config.use_pseudo_labels and pseudo_labels is not None and len(pseudo_labels.indices):
        keep = ~is_labeled[pseudo_labels.indices]
        extra = pseudo_labels.indices[keep]
        x_labeled = np.vstack([x_labeled, x_pool[extra]])
        y_labeled = np.concatenate([y_labeled, pseudo_labels.classes[keep]])
        weights = np.concatenate([weights, np.full(len(extra), pseudo_labels.weight)])
    background = ~is_labeled
    generated = frauds_generate(
        x_pool[labeled],
        np.asarray(labels),
        x_pool[~is_labeled],
        positive_class=config.positive_class,
        config=config.augment,
        seed=seed,
    )
    if len(generated):
        x_labeled = np.vstack([x_labeled, generated])
        y_labeled = np.concatenate([y_labeled, np.full(len(generated), config.positive_class)])
        weights = np.concatenate([weights, np.full(len(generated), config.augment.weight)])
    if previous_scores is not None and config.suspect_share > 0:
        unlabeled_rows = np.flatnonzero(background)
        count = int(len(unlabeled_rows) * config.suspect_share)
        ranked = unlabeled_rows[np.argsort(-previous_scores[unlabeled_rows], kind="stable")]
        background[ranked[:count]] = False
    unlabeled = x_pool[background]
    weak = WeakClassifier(num_classes, replace(config.weak, seed=seed))
    if on_progress is not None:
        on_progress("weak", 0.0)
    started = time.perf_counter()
    weak.fit(x_labeled, y_labeled, x_unlabeled=unlabeled, weights=weights)
    train_seconds = {"weak": time.perf_counter() - started}
    sgan = None
    human_positives = int(np.sum(np.asarray(labels) == config.positive_class))
    if config.use_sgan and human_positives >= config.min_positives_for_sgan:
        if on_progress is not None:
            on_progress("sgan", 0.0)
        started = time.perf_counter()
        sgan = (sgan_ensemble_train if config.sgan.members > 1 else sgan_train)(
            x_labeled,
            y_labeled,
            unlabeled,
            num_classes=num_classes,
            config=replace(config.sgan, seed=seed),
            weights=weights,
            # Checkpoints are chosen on human labels: generated rows only train.
            never_validate=np.arange(len(y_labeled)) >= len(y_labeled) - len(generated),
            on_progress=None if on_progress is None else lambda done: on_progress("sgan", done),
        )
        train_seconds["sgan"] = time.perf_counter() - started
    trees = None
    if config.use_trees and human_positives >= config.min_positives_for_trees:
        if on_progress is not None:
            on_progress("trees", 0.0)
        started = time.perf_counter()
        # Human labels only: trained on the pseudo-labels as well, the trees learned the
        # previous version's confident picks back (on simulated raw data, 1,000 labels: AP
        # 0.391 with them, 0.433 without; the area 0.363 against 0.325 with no trees).
        trees = TreesClassifier(num_classes, replace(config.trees, seed=seed)).fit(
            x_pool[labeled], np.asarray(labels), x_unlabeled=unlabeled
        )
        train_seconds["trees"] = time.perf_counter() - started
    shares = shares_learn(share_evidence, config)
    return Committee(
        weak=weak,
        sgan=sgan,
        config=config,
        anomaly=anomaly,
        train_seconds=train_seconds,
        sgan_share=shares.sgan,
        anomaly_share=shares.anomaly,
        share_evidence=share_evidence,
        trees=trees,
        trees_share=shares.trees,
    )


def committee_pseudo_labels(
    committee: Committee, proba: np.ndarray, *, human_labeled: np.ndarray
) -> PseudoLabels:
    return pseudo_labels_select(proba, human_labeled=human_labeled, config=committee.config.pseudo)
