"""Which unlabeled transactions to show next, and why: likely fraud, committee disagreement,
uncertainty with diversity within a batch, and the order that deals the reasons into one queue.
(The audit's picks come from `modeling.audit`, drawn from a frame these picks never touch.)"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REASON_AUDIT = "audit"
REASON_COLD_START = "cold_start"
REASON_LIKELY_FRAUD = "likely_fraud"
REASON_UNCERTAIN = "uncertain"
REASON_DISAGREEMENT = "disagreement"
REASON_ANOMALY = "anomaly"
REASON_ENTITY_RISK = "entity_risk"


def least_confidence(proba: np.ndarray) -> np.ndarray:
    return 1.0 - proba.max(axis=1)


def margin(proba: np.ndarray) -> np.ndarray:
    """1 - (best - second best): 1 where the two top classes tie."""
    ordered = np.sort(proba, axis=1)
    return 1.0 - (ordered[:, -1] - ordered[:, -2])


def entropy(proba: np.ndarray) -> np.ndarray:
    """Entropy scaled to [0, 1] by log K."""
    clipped = np.clip(proba, 1e-12, 1.0)
    return -(clipped * np.log(clipped)).sum(axis=1) / np.log(proba.shape[1])


def percentile_ranks(scores: np.ndarray) -> np.ndarray:
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(len(scores))
    return ranks / max(1, len(scores) - 1)


def committee_disagreement(member_scores: list[np.ndarray]) -> np.ndarray:
    """Spread of the members' percentile ranks of the same rows: models on different scales
    (a probability, a reconstruction error) are compared by rank, not by value."""
    if len(member_scores) < 2:
        return np.zeros(len(member_scores[0]) if member_scores else 0)
    return np.stack([percentile_ranks(s) for s in member_scores]).std(axis=0)


def k_center_greedy(embedding: np.ndarray, k: int, *, rng: np.random.Generator) -> np.ndarray:
    """k rows that cover the embedding: each next pick is the row farthest from those picked."""
    if k >= len(embedding):
        return np.arange(len(embedding))
    picked = [int(rng.integers(len(embedding)))]
    distance = np.linalg.norm(embedding - embedding[picked[0]], axis=1)
    for _ in range(k - 1):
        nxt = int(np.argmax(distance))
        picked.append(nxt)
        distance = np.minimum(distance, np.linalg.norm(embedding - embedding[nxt], axis=1))
    return np.asarray(picked)


@dataclass
class AcquisitionConfig:
    # Of the committee's own picks, once a fraud is known. In the label-efficiency benchmark 0.85
    # with 0.05 for disagreement beat 0.8 with 0.1 (disagreement picks there were all
    # legitimate) and 0.9 with 0.05, on the reference file and on generated data alike.
    likely_fraud_share: float = 0.85
    disagreement_share: float = 0.05  # the rest goes to plain uncertainty
    diversity_pool: int = 4  # diversity picks k from the top k * this many by uncertainty
    # When the previous round's likely-fraud picks were mostly legitimate, the model has run out
    # of frauds it can see: most of those slots go to the anomaly ranking instead.
    dry_hit_rate: float = 0.2
    dry_likely_fraud_share: float = 0.3
    # Of every batch, before the rest: the rows whose entity (a merchant or terminal) had frauds
    # confirmed shortly before them, highest risk first, where the data has such a column
    # (`entity_risk`). A compromised terminal's frauds look like its legitimate traffic, and a
    # model that has never been shown one does not rank them. Off: on simulated raw data a
    # share of 0.1 found three times the terminal frauds but lowered AP (label_efficiency.py
    # --generated-raw, variant "merchant-risk picks").
    entity_risk_share: float = 0.0
    positive_class: int = 1


@dataclass
class Selection:
    indices: np.ndarray  # positions in the candidate arrays, in the order to show them
    reasons: list[str]
    priorities: np.ndarray  # higher first


def _take(order: np.ndarray, taken: np.ndarray, count: int) -> np.ndarray:
    available = order[~taken[order]]
    return available[:count]


def batch_select(
    *,
    size: int,
    proba: np.ndarray | None,
    anomaly: np.ndarray,
    rng: np.random.Generator,
    config: AcquisitionConfig | None = None,
    member_scores: list[np.ndarray] | None = None,
    embedding: np.ndarray | None = None,
    exploit_hit_rate: float | None = None,
    entity_risk: np.ndarray | None = None,
    disagreement: np.ndarray | None = None,
) -> Selection:
    """Picks `size` of the candidate rows. `proba` (n, K) is None before any fraud is labeled:
    then the anomaly score ranks (cold start). `entity_risk` (n,): the fraud rate known at each
    row's merchant shortly before it (0: none), for `config.entity_risk_share`. `disagreement`
    (n,): how far apart the members are on each row, when given; else the spread of the
    `member_scores`' ranks among these rows. Every pick carries its reason; the picks come
    grouped by reason, each group best first, with priorities that deal them into one order
    (`interleaved_priorities`)."""
    config = config or AcquisitionConfig()
    count = len(anomaly)
    size = min(size, count)
    taken = np.zeros(count, bool)
    picks: list[np.ndarray] = []
    reasons: list[str] = []

    def add(indices: np.ndarray, reason: str) -> None:
        taken[indices] = True
        picks.append(indices)
        reasons.extend([reason] * len(indices))

    main_count = size
    if entity_risk is not None and config.entity_risk_share > 0:
        at_risk = np.flatnonzero(entity_risk > 0)
        order = at_risk[np.argsort(-entity_risk[at_risk], kind="stable")]
        add(_take(order, taken, round(size * config.entity_risk_share)), REASON_ENTITY_RISK)
        main_count = size - int(taken.sum())
    if proba is None:
        add(_take(np.argsort(-anomaly, kind="stable"), taken, main_count), REASON_COLD_START)
    else:
        fraud_probability = proba[:, config.positive_class]
        dry = exploit_hit_rate is not None and exploit_hit_rate < config.dry_hit_rate
        share = config.dry_likely_fraud_share if dry else config.likely_fraud_share
        exploit_count = round(main_count * share)
        add(
            _take(np.argsort(-fraud_probability, kind="stable"), taken, exploit_count),
            REASON_LIKELY_FRAUD,
        )
        if dry:
            explore_count = round(main_count * (config.likely_fraud_share - share))
            add(_take(np.argsort(-anomaly, kind="stable"), taken, explore_count), REASON_ANOMALY)
            exploit_count += explore_count
        remaining = main_count - exploit_count
        if disagreement is None and member_scores and len(member_scores) > 1:
            disagreement = committee_disagreement(member_scores)
        if disagreement is not None and remaining:
            disagreement_count = min(remaining, round(main_count * config.disagreement_share))
            add(
                _take(np.argsort(-disagreement, kind="stable"), taken, disagreement_count),
                REASON_DISAGREEMENT,
            )
            remaining -= disagreement_count
        if remaining:
            uncertain_order = np.argsort(-margin(proba), kind="stable")
            shortlist = _take(uncertain_order, taken, remaining * config.diversity_pool)
            if embedding is not None and len(shortlist) > remaining:
                shortlist = shortlist[k_center_greedy(embedding[shortlist], remaining, rng=rng)]
            add(shortlist[:remaining], REASON_UNCERTAIN)
    indices = np.concatenate(picks) if picks else np.zeros(0, np.int64)
    return Selection(indices=indices, reasons=reasons, priorities=interleaved_priorities(reasons))


def interleaved_priorities(
    reasons: list[str], shares: dict[str, float] | None = None
) -> np.ndarray:
    """Priorities (1 first, down to 0) that deal the reasons into one order by their shares,
    each reason's picks kept in their own order: any prefix of the queue carries the planned mix,
    whatever the queue size and however many items get answered before the next plan. A reason's
    share is what `shares` names, the others sharing the rest by their numbers of picks; a reason
    with fewer picks than its share of the queue (the audit, when its sample holds few) keeps
    its rate at the front.

    Each next place goes to the reason furthest behind its share of the places so far (ties to
    the reason listed first), which keeps every reason within one item of its share in every
    prefix while all of them have picks left."""
    reasons = list(reasons)
    total = len(reasons)
    if total == 0:
        return np.zeros(0)
    names = list(dict.fromkeys(reasons))
    waiting = {name: [i for i, r in enumerate(reasons) if r == name] for name in names}
    named = {name: value for name, value in (shares or {}).items() if name in waiting}
    rest = sum(len(waiting[name]) for name in names if name not in named)
    free = max(0.0, 1.0 - sum(named.values()))  # what the named shares leave to the others
    share = {
        name: named[name] if name in named else free * len(waiting[name]) / rest for name in names
    }
    dealt = dict.fromkeys(names, 0)
    order: list[int] = []
    for place in range(1, total + 1):
        behind = max(
            (name for name in names if dealt[name] < len(waiting[name])),
            key=lambda name: share[name] * place - dealt[name],
        )
        order.append(waiting[behind][dealt[behind]])
        dealt[behind] += 1
    priorities = np.empty(total)
    priorities[order] = np.linspace(1.0, 0.0, total)
    return priorities
