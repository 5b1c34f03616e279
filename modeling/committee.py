"""The committee that scores transactions: the weak classifier and the SGAN, trained together on
human labels, the previous version's pseudo-labels and the unlabeled pool."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from modeling.pseudo import PseudoLabelConfig, PseudoLabels, pseudo_labels_select
from modeling.sgan import SGAN, SGANConfig, sgan_train
from modeling.weak import WeakClassifier, WeakConfig


@dataclass
class CommitteeConfig:
    use_sgan: bool = True
    sgan_share: float = 0.5  # weight of the SGAN in the geometric mean of the probabilities
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
class Committee:
    weak: WeakClassifier
    sgan: SGAN | None
    config: CommitteeConfig
    train_seconds: dict[str, float] = field(default_factory=dict)  # by member, as trained

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
        share = self.config.sgan_share
        # A weighted geometric mean, renormalised: the members' probabilities live on different
        # scales (class weights, PU background), and a row both rank high stays high.
        logs = (1 - share) * np.log(np.clip(members["weak"], 1e-7, 1.0)) + share * np.log(
            np.clip(members["sgan"], 1e-7, 1.0)
        )
        combined = np.exp(logs - logs.max(axis=1, keepdims=True))
        return combined / combined.sum(axis=1, keepdims=True)


def committee_train(
    x_pool: np.ndarray,
    labeled: np.ndarray,
    labels: np.ndarray,
    *,
    num_classes: int,
    config: CommitteeConfig | None = None,
    pseudo_labels: PseudoLabels | None = None,
    previous_scores: np.ndarray | None = None,
    seed: int = 0,
    on_progress: Callable[[str, float], None] | None = None,
) -> Committee:
    """`labeled` indexes `x_pool`; `pseudo_labels` (indices into `x_pool`) come from the previous
    version and are used at their lower weight, never for a row that has a human label now.
    `on_progress(member, share done)` reports how far training has got."""
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
    return Committee(weak=weak, sgan=sgan, config=config, train_seconds=train_seconds)


def committee_pseudo_labels(
    committee: Committee, proba: np.ndarray, *, human_labeled: np.ndarray
) -> PseudoLabels:
    return pseudo_labels_select(proba, human_labeled=human_labeled, config=committee.config.pseudo)
