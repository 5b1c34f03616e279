"""A run's plan for annotators: the audit's next picks from the frame, and one queue that
deals them with the committee's own picks by share."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from labeler.models import TrainingPolicy
from labeler.services.queueing import QueuePlan
from labeler.services.training.outputs import Scores
from labeler.services.training_data import TrainingArrays
from labeler.services.version_scoring import ANOMALY_REASON
from modeling.acquisition import REASON_AUDIT, Selection, interleaved_priorities
from modeling.audit import AuditConfig, AuditRound, audit_round, audit_selected


def audit_draw(
    arrays: TrainingArrays,
    *,
    fraud_probability: np.ndarray | None,
    anomaly: np.ndarray,
    policy: TrainingPolicy,
    rng: np.random.Generator,
) -> AuditRound:
    """This version's design over the frame (positions in the frame): the inclusion
    probabilities after it, and the sample rows to queue now."""
    frame = np.flatnonzero(arrays.frame)
    numbers, inclusion = arrays.audit_number[frame], arrays.audit_inclusion[frame]
    answered = np.isin(frame, arrays.audit_rows) & audit_selected(numbers, inclusion)
    slots = round(policy.audit_share * policy.queue_size)
    return audit_round(
        audit_numbers=numbers,
        previous_inclusion=inclusion,
        answered=answered,
        unavailable=arrays.human_labeled[frame],
        fraud_probability=None if fraud_probability is None else fraud_probability[frame],
        anomaly=anomaly[frame],
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
    arrays: TrainingArrays,
    *,
    candidates: np.ndarray,
    selection: Selection,
    audit: AuditRound,
    audit_share: float,
    scores: Scores,
    explain: Callable[[np.ndarray, np.ndarray], list[str | None]] | None = None,
) -> QueuePlan:
    """The committee's picks (positions in `candidates`) and the audit's (positions in the
    frame), dealt by share: whatever prefix annotators answer carries the planned mix. Each
    item carries the suggestion it is shown with, from this version's `scores`."""
    frame = np.flatnonzero(arrays.frame)
    reasons = selection.reasons + [REASON_AUDIT] * len(audit.picks)
    rows = np.concatenate([candidates[selection.indices], frame[audit.picks]]).astype(np.int64)
    priorities = interleaved_priorities(reasons, {REASON_AUDIT: audit_share})
    return QueuePlan(
        transaction_ids=arrays.transaction_ids[rows],
        priorities=priorities,
        explanations=None if explain is None else explain(rows, np.asarray(priorities)),
        reasons=reasons,
        scores=np.clip(scores.score[rows], 0.0, 1.0),
        suggested_class_ids=None if scores.suggested is None else scores.suggested[rows],
        audit_inclusion=None if scores.audit_inclusion is None else scores.audit_inclusion[rows],
    )


EXPLAINED_ITEMS = 2_000  # the queue's first items: far more than annotators answer per version


def plan_explanations(
    rows: np.ndarray,
    priorities: np.ndarray,
    *,
    x: np.ndarray,
    committee,
    names: list[str],
    arrays: TrainingArrays,
) -> list[str | None]:
    """Each planned item's explanation as JSON text, for the EXPLAINED_ITEMS served first
    (None for the rest): its strongest reasons ({"name", "log_odds", "deviation", "anomaly"})
    and the nearest transactions people labeled, in the model's embedding ([id, class])."""
    from modeling.explain import ANOMALY, nearest_labeled, occlusion_reasons

    first = np.argsort(-priorities, kind="stable")[:EXPLAINED_ITEMS]
    explained: list[str | None] = [None] * len(rows)
    chosen = x[rows[first]]
    found = occlusion_reasons(committee, chosen, positive=arrays.positive_code)
    near, _ = nearest_labeled(committee, chosen, x[arrays.labeled])
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
