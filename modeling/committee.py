"""The committee that scores transactions: the weak classifier and the SGAN, trained together on
human labels, the previous version's pseudo-labels and the unlabeled pool."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.metrics import average_precision_score

from modeling.pseudo import PseudoLabelConfig, PseudoLabels, pseudo_labels_select
from modeling.sgan import SGAN, SGANConfig, sgan_train
from modeling.weak import WeakClassifier, WeakConfig


@dataclass
class CommitteeConfig:
    use_sgan: bool = True
    # Weight of the SGAN in the geometric mean of the members' probabilities. None: learned at
    # each training from the members' record on answers they had not seen (`ShareEvidence`).
    sgan_share: float | None = None
    share_grid: tuple[float, ...] = (0.2, 0.35, 0.5, 0.65, 0.8)
    # The learned share is pulled towards 0.5 while the record holds few frauds: with n of them
    # it moves n / (n + share_prior_positives) of the way to the best share of the grid.
    share_prior_positives: int = 10
    min_positives_for_sgan: int = 4  # below this the SGAN has nothing to learn fraud from
    use_pseudo_labels: bool = True
    weak: WeakConfig = field(default_factory=WeakConfig)
    sgan: SGANConfig = field(default_factory=SGANConfig)
    pseudo: PseudoLabelConfig = field(default_factory=PseudoLabelConfig)
    positive_class: int = 1
    # Unlabeled rows the previous version found most suspicious are left out of the background
    # (legit) class: they hold most of the frauds nobody has labeled yet.
    suspect_share: float = 0.01


@dataclass
class ShareEvidence:
    """Each member's probabilities for rows a human answered after that member was trained: an
    honest record of which member ranks new answers better. (The SGAN's held-out labels are not:
    its checkpoint was picked on them, which flatters it.)"""

    weak: np.ndarray  # (n, K)
    sgan: np.ndarray  # (n, K)
    labels: np.ndarray  # (n,) class codes the humans gave

    def extended(self, weak: np.ndarray, sgan: np.ndarray, labels: np.ndarray) -> ShareEvidence:
        return ShareEvidence(
            np.vstack([self.weak, weak]),
            np.vstack([self.sgan, sgan]),
            np.concatenate([self.labels, np.asarray(labels, np.int64)]),
        )

    @classmethod
    def empty(cls, num_classes: int) -> ShareEvidence:
        return cls(np.zeros((0, num_classes)), np.zeros((0, num_classes)), np.zeros(0, np.int64))


@dataclass
class Committee:
    weak: WeakClassifier
    sgan: SGAN | None
    config: CommitteeConfig
    train_seconds: dict[str, float] = field(default_factory=dict)  # by member, as trained
    sgan_share: float = 0.5  # the SGAN's weight in the geometric mean, as trained
    share_evidence: ShareEvidence | None = None  # what the share was learned from, carried on

    def member_proba(self, x: np.ndarray) -> dict[str, np.ndarray]:
        members = {"weak": self.weak.predict_proba(x)}
        if self.sgan is not None:
            members["sgan"] = self.sgan.predict_proba(x)
        return members

    def predict_proba(
        self, x: np.ndarray, members: dict[str, np.ndarray] | None = None
    ) -> np.ndarray:
        members = members or self.member_proba(x)
        if "sgan" not in members:
            return members["weak"]
        return geometric_mean(members["weak"], members["sgan"], self.sgan_share)


def geometric_mean(weak: np.ndarray, sgan: np.ndarray, share: float) -> np.ndarray:
    """Weighted geometric mean of two (n, K) probability arrays, renormalised per row: the
    members' probabilities live on different scales (class weights, PU background), and a row
    both rank high stays high."""
    logs = (1 - share) * np.log(np.clip(weak, 1e-7, 1.0)) + share * np.log(np.clip(sgan, 1e-7, 1.0))
    combined = np.exp(logs - logs.max(axis=1, keepdims=True))
    return combined / combined.sum(axis=1, keepdims=True)


def share_learn(evidence: ShareEvidence | None, config: CommitteeConfig) -> float:
    """The SGAN's share: the grid share whose mix ranks the evidence's frauds best (average
    precision; ties go to the share nearest 0.5), pulled towards 0.5 while the evidence holds
    few frauds. 0.5 without evidence of both kinds."""
    if evidence is None:
        return 0.5
    weak_proba, sgan_proba = evidence.weak, evidence.sgan
    is_positive = evidence.labels == config.positive_class
    if is_positive.all() or not is_positive.any():
        return 0.5
    positive = config.positive_class
    scored = [
        (
            float(
                average_precision_score(
                    is_positive, geometric_mean(weak_proba, sgan_proba, share)[:, positive]
                )
            ),
            -abs(share - 0.5),
            share,
        )
        for share in config.share_grid
    ]
    best = max(scored)[2]
    frauds = int(np.sum(is_positive))
    return 0.5 + (best - 0.5) * frauds / (frauds + config.share_prior_positives)


def share_evidence_extend(
    previous: Committee | None, x_answered: np.ndarray, labels: np.ndarray
) -> ShareEvidence | None:
    """The previous committee's evidence, plus its members' probabilities for `x_answered`: rows
    answered since it was trained. Rows it was trained on must not be passed."""
    if previous is None:
        return None
    evidence = previous.share_evidence
    if previous.sgan is None or not len(labels):
        return evidence
    members = previous.member_proba(x_answered)
    evidence = evidence or ShareEvidence.empty(previous.weak.num_classes)
    return evidence.extended(members["weak"], members["sgan"], labels)


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
    seed: int = 0,
    on_progress: Callable[[str, float], None] | None = None,
) -> Committee:
    """`labeled` indexes `x_pool`; `pseudo_labels` (indices into `x_pool`) come from the previous
    version and are used at their lower weight, never for a row that has a human label now.
    `share_evidence` (see `share_evidence_extend`) sets the SGAN's share unless the config fixes
    it. `on_progress(member, share done)` reports how far training has got."""
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
        sgan = sgan_train(
            x_labeled,
            y_labeled,
            unlabeled,
            num_classes=num_classes,
            config=replace(config.sgan, seed=seed),
            weights=weights,
            on_progress=None if on_progress is None else lambda done: on_progress("sgan", done),
        )
        train_seconds["sgan"] = time.perf_counter() - started
    share = (
        config.sgan_share if config.sgan_share is not None else share_learn(share_evidence, config)
    )
    return Committee(
        weak=weak,
        sgan=sgan,
        config=config,
        train_seconds=train_seconds,
        sgan_share=share,
        share_evidence=share_evidence,
    )


def committee_pseudo_labels(
    committee: Committee, proba: np.ndarray, *, human_labeled: np.ndarray
) -> PseudoLabels:
    return pseudo_labels_select(proba, human_labeled=human_labeled, config=committee.config.pseudo)
