"""After a run has saved its model file: every row scored in shards (scoring_shards.py), the
version judged on the audit, and its plan for annotators (the audit's picks, the committee's,
its pseudo-labels), all staged for the activation."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from labeler.models import Label, ModelVersion, StagedScore, TrainingPolicy
from labeler.services.bulk_insert import table_statistics_refresh
from labeler.services.queueing import queue_plan_stage
from labeler.services.training.options import TrainingOptions
from labeler.services.training.outputs import (
    drift_record,
    pseudo_labels_write,
    score_quantiles,
    scores_stage,
)
from labeler.services.training.planning import audit_draw, plan_explanations, queue_plan_build
from labeler.services.training.quality import audit_quality
from labeler.services.training.scoring_shards import (
    member_ranks_fit,
    scoring_files,
    scoring_ranges,
    shards_merge,
    shards_score_here,
    shards_score_on_workers,
)
from labeler.services.training.shard_scoring import ScoringPlan
from labeler.services.training.stages import StageClock
from labeler.services.training_data import TrainingArrays, model_input_names
from labeler.services.version_scoring import stored_input
from modeling.acquisition import AcquisitionConfig, batch_select
from modeling.committee import committee_pseudo_labels
from modeling.model_files import ModelBundle


@dataclass
class Fitted:
    """What a run has once its model file is saved and read back."""

    version: ModelVersion
    arrays: TrainingArrays
    bundle: ModelBundle
    model_file: Path
    x_learning: np.ndarray  # the scaled rows the models learned from
    to_learning: np.ndarray  # row position -> position in x_learning (-1: not learned from)


def _exploit_hit_rate(version: ModelVersion | None) -> float | None:
    """Share of fraud among labels given to the active version's likely-fraud picks."""
    if version is None:
        return None
    labels = Label.objects.filter(
        suggested_by=version, queue_reason="likely_fraud", status=Label.Status.ACTIVE
    )
    answered = labels.count()
    if answered < 5:
        return None
    return labels.filter(label_class__is_positive=True).count() / answered


def _scoring_plan(fitted: Fitted, options: TrainingOptions, policy: TrainingPolicy):
    arrays, committee = fitted.arrays, fitted.bundle.committee
    pseudo = {} if committee is None else committee.config.pseudo.caps
    excluded = arrays.transaction_ids[arrays.human_labeled | _mask(arrays, arrays.in_review)]
    return ScoringPlan(
        version_id=fitted.version.pk,
        model_file=str(fitted.model_file),
        window_start=arrays.window_start,
        last_id=int(arrays.transaction_ids[-1]),
        rows=len(arrays.transaction_ids),
        seed=options.seed,
        # The uncertainty picks' shortlist, past every row another reason took first.
        picks=policy.queue_size * (AcquisitionConfig().diversity_pool + 1),
        # Each class's cap, past the rows the plan queues (they get no pseudo-label).
        pseudo_picks={int(code): int(cap) + policy.queue_size for code, cap in pseudo.items()},
        positive_code=arrays.positive_code,
        class_ids=[arrays.class_ids[c] for c in range(len(arrays.class_names))],
        member_ranks=None
        if committee is None
        else member_ranks_fit(
            committee, fitted.x_learning, positive=arrays.positive_code, seed=options.seed
        ),
        excluded=excluded.tolist(),
    )


def _mask(arrays: TrainingArrays, positions: np.ndarray) -> np.ndarray:
    mask = np.zeros(len(arrays.transaction_ids), bool)
    mask[positions] = True
    return mask


def version_score_and_plan(
    fitted: Fitted,
    *,
    options: TrainingOptions,
    policy: TrainingPolicy,
    previous: ModelVersion | None,
    stages: StageClock,
    metrics: dict,
) -> dict:
    """Scores every row, stages the scores, the queue's plan and the pseudo-labels, and adds
    the version's score figures to `metrics`; returns the counts for `training_counts`."""
    version, arrays, bundle = fitted.version, fitted.arrays, fitted.bundle
    committee = bundle.committee
    names = model_input_names(version.dataset.feature_names, arrays)
    with scoring_files(fitted.model_file) as folder:
        with stages.stage("scoring"):
            _scoring_plan(fitted, options, policy).save(folder)
            ranges = scoring_ranges(arrays.transaction_ids, options.scoring_shard_rows)
            report = partial(stages.report, "scoring")
            files = (
                shards_score_on_workers(folder, ranges, report, timeout=options.scoring_timeout)
                if options.scoring_on_workers
                else shards_score_here(folder, ranges, report)
            )
            scored = shards_merge(files)
        # Where the shards spent their time, summed over them (wall clock and CPU).
        metrics["scoring_parts"] = scored.seconds
        if committee is not None:
            metrics["score_quantiles"] = score_quantiles(scored.quantile_scores)
        # What arrivals are compared with: the score and each input, on a sample of the rows.
        metrics["drift"] = drift_record(
            scored.drift_scores, scored.drift_x, names, seed=options.seed
        )
    with stages.stage("audit"):
        # The new version judged on the audit's answers, all drawn before it trained; then its
        # own design for the next picks.
        metrics["quality"] = audit_quality(arrays, scored, options, committee=committee is not None)
        audit = audit_draw(
            arrays,
            scored,
            committee=committee is not None,
            policy=policy,
            rng=np.random.default_rng([options.seed, version.pk, 1]),
        )
    with stages.stage("score_write"):
        scores_stage(
            version,
            ids=scored.frame_ids,
            score=scored.frame_score,
            uncertainty=scored.frame_uncertainty,
            suggested=scored.frame_suggested,
            audit_inclusion=audit.inclusion,
        )
        table_statistics_refresh(StagedScore)  # the activation copies them by id, in batches

    with stages.stage("queueing"):
        selection = batch_select(
            size=max(0, policy.queue_size - len(audit.picks)),
            proba=scored.kept_proba,
            anomaly=scored.kept_anomaly,
            rng=np.random.default_rng(options.seed + version.pk),
            disagreement=scored.kept_disagreement,
            embedding=scored.kept_embedding,
            exploit_hit_rate=_exploit_hit_rate(previous),
        )
        plan = queue_plan_build(
            scored,
            selection=selection,
            audit=audit,
            audit_share=policy.audit_share,
            explain=None
            if committee is None
            else partial(
                plan_explanations,
                inputs=partial(stored_input, bundle, version.dataset),
                x_labeled=fitted.x_learning[fitted.to_learning[arrays.labeled]],
                committee=committee,
                names=names,
                arrays=arrays,
            ),
        )
        queue_plan_stage(version=version, plan=plan)

    pseudo_count, pseudo_by_class = 0, {}
    with stages.stage("pseudo_labels"):
        if committee is not None:
            # Never what people will see: a queued item gets a human label soon, and the
            # spot check of its pseudo-label would take it out of the annotation queue (one
            # human queue at a time), leaving the plan short of its likely frauds. (The kept
            # rows hold no human-labeled, frame or reviewed row.)
            chosen = committee_pseudo_labels(
                committee,
                scored.kept_proba,
                human_labeled=np.isin(scored.kept_ids, plan.transaction_ids),
            )
            class_ids = np.asarray(
                [arrays.class_ids[c] for c in range(len(arrays.class_names))], np.int64
            )
            pseudo_count = pseudo_labels_write(
                version, ids=scored.kept_ids, chosen=chosen, class_ids=class_ids
            )
            pseudo_by_class = {
                name: int(np.sum(chosen.classes == code))
                for code, name in enumerate(arrays.class_names)
            }
    return {
        "pseudo_labels_out": pseudo_count,
        "pseudo_labels_by_class": pseudo_by_class,
        "queue_planned": len(plan.reasons),
        "audit_selected": audit.selected,
        "audit_queued": len(audit.picks),
        "scoring_shards": len(ranges),
    }
