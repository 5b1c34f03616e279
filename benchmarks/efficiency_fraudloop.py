"""fraudloop's curve in label_efficiency.py: the product's method run in memory, round by round.

The same parts as a training run (modeling/), on arrays: the audit frame set aside, the audit's
picks and the committee's in each round of oracle labels, and each version's audit estimate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from efficiency_strategies import Curve, Split, test_ap

from modeling.acquisition import AcquisitionConfig, batch_select
from modeling.anomaly.ensemble import AnomalyConfig, anomaly_ensemble_fit
from modeling.audit import AuditConfig, audit_round
from modeling.audit_estimate import AuditEstimateConfig, audit_estimate
from modeling.committee import (
    Committee,
    CommitteeConfig,
    committee_pseudo_labels,
    committee_train,
    share_evidence_extend,
)
from modeling.device import set_seed
from modeling.pseudo import PseudoLabels


def fraudloop_curve(
    split: Split,
    *,
    round_size: int,
    budget: int,
    seed: int,
    config: CommitteeConfig,
    acquisition: AcquisitionConfig | None = None,
    audit: AuditConfig | None = None,
    frame_share: float = 0.1,
    anomaly: AnomalyConfig | None = None,
    trusted: np.ndarray | None = None,
    entity_risk: np.ndarray | None = None,
    numeric: bool = True,
) -> Curve:
    """The product's method in memory: an audit frame no model learns from, the anomaly
    detectors' cold start (`anomaly`; by default the product's for inputs that are all
    numbers, or with `numeric` False for inputs with categories and derived counts), then
    the committee (weak + SGAN, or weak alone); each round the audit's picks (their share of
    the round) and the committee's (likely fraud, disagreement, uncertainty with diversity),
    pseudo-labels, and the audit's estimate of each version. `trusted`: pool positions whose
    fraud label the loop has from the start without anyone's effort (chargebacks imported as
    trusted labels): they train from the first round outside the frame, and count neither as
    labels nor as frauds found. `entity_risk`: per pool row, its merchant's known fraud rate,
    for the acquisition's `entity_risk_share`."""
    started = time.perf_counter()
    rng = set_seed(seed)
    audit = audit or AuditConfig()
    curve = Curve()
    numbers = np.random.default_rng(10_000 + seed).random(len(split.y_pool))
    in_frame = numbers < frame_share
    frame, learning = np.flatnonzero(in_frame), np.flatnonzero(~in_frame)
    audit_numbers = numbers[frame] / frame_share
    x_learn, y_learn = split.x_pool[learning], split.y_pool[learning]
    x_frame, y_frame = split.x_pool[frame], split.y_pool[frame]
    risk_learn = None if entity_risk is None else np.asarray(entity_risk)[learning]
    configured = anomaly or AnomalyConfig.for_inputs(numeric=numeric)
    detectors = anomaly_ensemble_fit(x_learn, replace(configured, seed=seed))
    anomaly = detectors.anomaly_score(x_learn)
    frame_anomaly = detectors.anomaly_score(x_frame)
    test_anomaly = detectors.anomaly_score(split.x_test)
    given = np.zeros(len(split.y_pool), bool)
    if trusted is not None:
        given[trusted] = True
    given = given[learning]  # a trusted row in the frame trains nothing, as in the product
    labeled = given.copy()
    answered = np.zeros(len(y_frame), bool)
    inclusion = np.zeros(len(y_frame))

    def train(previous: _Version, evidence) -> _Version:
        committee = committee_train(
            x_learn,
            np.flatnonzero(labeled),
            y_learn[labeled],
            num_classes=2,
            config=config,
            pseudo_labels=previous.pseudo,
            previous_scores=previous.pool_scores,
            share_evidence=evidence,
            anomaly=detectors,
            seed=seed,
        )
        # The detectors' scores of the pool, frame and test rows are the same every round.
        pool_members = committee.member_proba(x_learn, anomaly)
        pool_proba = committee.predict_proba(x_learn, pool_members)
        return _Version(
            committee=committee,
            pool_members=pool_members,
            pool_scores=pool_proba[:, 1],
            pseudo=committee_pseudo_labels(committee, pool_proba, human_labeled=labeled),
            frame_scores=committee.predict_proba(
                x_frame, committee.member_proba(x_frame, frame_anomaly)
            )[:, 1],
            test_scores=committee.predict_proba(
                split.x_test, committee.member_proba(split.x_test, test_anomaly)
            )[:, 1],
        )

    version = _Version()
    if y_learn[given].sum() > 0:
        # As the product: trusted frauds train a committee before anyone's first answer.
        version = train(version, None)
        curve.member_seconds.update(version.committee.train_seconds)
    hit_rate = None
    audit_count = round(audit.share * round_size)
    while labeled.sum() - given.sum() + answered.sum() < budget:
        drawn = audit_round(
            audit_numbers=audit_numbers,
            previous_inclusion=inclusion,
            answered=answered,
            unavailable=answered,
            fraud_probability=version.frame_scores,
            anomaly=frame_anomaly,
            round_answers=audit_count,
            slots=audit_count,
            config=audit,
            rng=rng,
        )
        inclusion = drawn.inclusion
        candidates = np.flatnonzero(~labeled)
        size = round_size - len(drawn.picks)
        risk = None if risk_learn is None else risk_learn[candidates]
        committee, pool_members = version.committee, version.pool_members
        if committee is None:
            selection = batch_select(
                size=size,
                proba=None,
                anomaly=anomaly[candidates],
                rng=rng,
                config=acquisition,
                entity_risk=risk,
            )
        else:
            members = {name: proba[candidates] for name, proba in pool_members.items()}
            member_scores = [m[:, 1] for m in members.values()]  # the anomaly rank among them
            embedding = committee.sgan.embed(x_learn[candidates]) if committee.sgan else None
            selection = batch_select(
                size=size,
                proba=committee.predict_proba(x_learn[candidates], members),
                anomaly=anomaly[candidates],
                rng=rng,
                member_scores=member_scores,
                embedding=embedding,
                exploit_hit_rate=hit_rate,
                config=acquisition,
                entity_risk=risk,
            )
        picked = candidates[selection.indices]
        exploit = picked[np.asarray(selection.reasons) == "likely_fraud"]
        hit_rate = float(y_learn[exploit].mean()) if len(exploit) else None
        labeled[picked] = True
        answered[drawn.picks] = True
        y = y_learn[labeled]
        if y.sum() == 0:
            version = _Version()
            test_scores = test_anomaly
        else:
            # The previous committee's members, judged on the answers they had not seen.
            evidence = share_evidence_extend(committee, x_learn[picked], y_learn[picked])
            version = train(version, evidence)
            committee = version.committee
            for member, seconds in committee.train_seconds.items():
                curve.member_seconds[member] = curve.member_seconds.get(member, 0.0) + seconds
            test_scores = version.test_scores
        frame_scores = version.frame_scores
        curve.labels.append(int(labeled.sum() - given.sum() + answered.sum()))
        curve.ap.append(test_ap(split, test_scores))
        curve.frauds_found.append(int(y.sum() - given.sum() + y_frame[answered].sum()))
        has_sgan = committee is not None and committee.sgan is not None
        curve.sgan_share.append(committee.sgan_share if has_sgan else float("nan"))
        curve.anomaly_share.append(committee.anomaly_share if committee else float("nan"))
        has_trees = committee is not None and committee.trees is not None
        curve.trees_share.append(committee.trees_share if has_trees else float("nan"))
        curve.audit_labels.append(int(answered.sum()))
        curve.estimates.append(
            None
            if frame_scores is None
            else _audit_ap(frame_scores, y_frame, answered, inclusion, audit_numbers, y, seed)
        )
    curve.seconds = time.perf_counter() - started
    curve.answered_rows = np.sort(np.concatenate([learning[labeled & ~given], frame[answered]]))
    return curve


@dataclass
class _Version:
    """One committee's scores, as the next round picks and is measured by them."""

    committee: Committee | None = None
    pool_members: dict[str, np.ndarray] = field(default_factory=dict)
    pool_scores: np.ndarray | None = None
    pseudo: PseudoLabels | None = None
    frame_scores: np.ndarray | None = None
    test_scores: np.ndarray | None = None


def _audit_ap(frame_scores, y_frame, answered, inclusion, audit_numbers, y_training, seed):
    """The version's audit estimate of AP, as the product computes it after each training."""
    rows = np.flatnonzero(answered)
    figures = audit_estimate(
        frame_scores=frame_scores,
        answered=rows,
        labels=y_frame[rows],
        inclusion=inclusion[rows],
        selected=int(np.sum(audit_numbers < inclusion)),
        population=len(y_frame),
        known_frauds=int(y_training.sum() + y_frame[rows].sum()),
        config=AuditEstimateConfig(seed=seed),
    )
    return figures.get("average_precision")
