"""A run's plan for annotators: the audit's next picks from the frame, and one queue that
deals them with the committee's own picks by share."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from labeler.models import TrainingPolicy
from labeler.services.queueing import QueuePlan
from labeler.services.training.scoring_shards import ShardedScores
from labeler.services.training_data import TrainingArrays
from labeler.services.version_scoring import ANOMALY_REASON
from modeling.acquisition import REASON_AUDIT, Selection, interleaved_priorities
from modeling.audit import AuditConfig, AuditRound, audit_round, audit_selected


def audit_draw(
    arrays: TrainingArrays,
    scored: ShardedScores,
    *,
    committee: bool,
    policy: TrainingPolicy,
    rng: np.random.Generator,
) -> AuditRound:
    """This version's design over the frame (positions in `scored.frame_ids`): the inclusion
    probabilities after it, and the sample rows to queue now. `committee` False: the version
    has no fraud probability (cold start)."""
    numbers, inclusion = scored.frame_number, scored.frame_inclusion
    audit_ids = arrays.transaction_ids[arrays.audit_rows]
    answered = np.isin(scored.frame_ids, audit_ids) & audit_selected(numbers, inclusion)
    slots = round(policy.audit_share * policy.queue_size)
    return audit_round(
        audit_numbers=numbers,
        previous_inclusion=inclusion,
        answered=answered,
        unavailable=np.isin(scored.frame_ids, arrays.transaction_ids[arrays.human_labeled]),
        fraud_probability=scored.frame_score if committee else None,
        anomaly=scored.frame_anomaly,
        # What the next round is expected to answer: the audit's share of the labels until the
        # next retraining (or of the queue, when that is shorter).
        round_answers=min(
            slots, round(policy.audit_share * min(policy.queue_size, policy.min_new_labels or 1))
        ),
        slots=slots,
        config=AuditConfig(share=policy.audit_share),
        rng=rng,
    )


def queue_plan_build(
    scored: ShardedScores,
    *,
    selection: Selection,
    audit: AuditRound,
    audit_share: float,
    explain: Callable[[np.ndarray, np.ndarray], list[str | None]] | None = None,
) -> QueuePlan:
    """The committee's picks (positions in `scored.kept_ids`) and the audit's (positions in
    `scored.frame_ids`), dealt by share: whatever prefix annotators answer carries the planned
    mix. Each item carries the suggestion it is shown with, from this version's scores."""
    picked, drawn = selection.indices, audit.picks
    reasons = selection.reasons + [REASON_AUDIT] * len(drawn)
    ids = np.concatenate([scored.kept_ids[picked], scored.frame_ids[drawn]]).astype(np.int64)
    priorities = interleaved_priorities(reasons, {REASON_AUDIT: audit_share})
    suggested = None
    if scored.kept_suggested is not None:
        suggested = np.concatenate([scored.kept_suggested[picked], scored.frame_suggested[drawn]])
    return QueuePlan(
        transaction_ids=ids,
        priorities=priorities,
        explanations=None if explain is None else explain(ids, np.asarray(priorities)),
        reasons=reasons,
        scores=np.clip(
            np.concatenate([scored.kept_score[picked], scored.frame_score[drawn]]), 0.0, 1.0
        ),
        suggested_class_ids=suggested,
        audit_inclusion=np.concatenate([np.full(len(picked), np.nan), audit.inclusion[drawn]]),
    )


EXPLAINED_ITEMS = 2_000  # the queue's first items: far more than annotators answer per version


def plan_explanations(
    ids: np.ndarray,
    priorities: np.ndarray,
    *,
    inputs: Callable[[np.ndarray], np.ndarray],
    x_labeled: np.ndarray,
    committee,
    names: list[str],
    arrays: TrainingArrays,
) -> list[str | None]:
    """Each planned item's explanation as JSON text, for the EXPLAINED_ITEMS served first
    (None for the rest): its strongest reasons ({"name", "log_odds", "deviation", "anomaly"})
    and the nearest transactions people labeled, in the model's embedding ([id, class]).
    `inputs`: the model input of transactions by id; `x_labeled`: that of `arrays.labeled`."""
    from modeling.explain import ANOMALY, nearest_labeled, occlusion_reasons

    if not len(ids):
        return []
    first = np.argsort(-priorities, kind="stable")[:EXPLAINED_ITEMS]
    explained: list[str | None] = [None] * len(ids)
    chosen = inputs(ids[first])
    found = occlusion_reasons(committee, chosen, positive=arrays.positive_code)
    near, _ = nearest_labeled(committee, chosen, x_labeled)
    for position, reasons, neighbours in zip(first.tolist(), found, near, strict=True):
        explained[position] = json.dumps(
            {
                "reasons": [
                    {
                        "name": ANOMALY_REASON if r.feature == ANOMALY else names[r.feature],
                        "log_odds": round(r.log_odds, 3),
                        "deviation": round(r.deviation, 2),
                        "anomaly": r.feature == ANOMALY,
                    }
                    for r in reasons
                ],
                "nearest": [
                    [
                        int(arrays.transaction_ids[arrays.labeled[n]]),
                        arrays.class_names[arrays.label_codes[n]],
                    ]
                    for n in neighbours.tolist()
                ],
            }
        )
    return explained
