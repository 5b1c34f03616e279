"""One training run, database to database.

read the training set -> fit the scaler -> anomaly detectors -> committee (weak + SGAN + anomaly)
-> evaluate -> save and reload the model file -> score every transaction -> estimate quality on
the audit -> plan the queue (the committee's picks and the audit's) -> pseudo-labels -> activate
(one transaction). Models learn from rows outside the audit frame only; every row is scored.
Everything before activation writes only rows that belong to the new, not yet active version,
so a run that dies anywhere changes nothing annotators see.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import asdict, replace
from functools import partial

import numpy as np

from labeler.models import Label, ModelVersion, TrainingPolicy
from labeler.services.activation import model_version_activate
from labeler.services.queueing import queue_plan_stage
from labeler.services.training.evidence import share_evidence_gather
from labeler.services.training.options import TrainingOptions
from labeler.services.training.outputs import (
    artifact_path,
    drift_record,
    pseudo_labels_write,
    score_quantiles,
    scores_compute,
    scores_stage,
)
from labeler.services.training.planning import audit_draw, plan_explanations, queue_plan_build
from labeler.services.training.quality import (
    anomaly_record,
    audit_quality,
    class_profiles,
    version_metrics,
)
from labeler.services.training.stages import StageClock
from labeler.services.training_data import (
    learning_sample,
    model_input,
    model_input_names,
    training_arrays_build,
)
from labeler.services.training_runs import (
    ProgressRecorder,
    training_next_start,
    training_run_claim,
    training_run_fail,
)
from modeling.acquisition import batch_select
from modeling.anomaly.ensemble import anomaly_ensemble_fit
from modeling.audit import AuditConfig
from modeling.committee import committee_pseudo_labels, committee_train
from modeling.device import resolve_device
from modeling.features import FeatureScaler
from modeling.model_files import ModelBundle, bundle_load, bundle_save
from modeling.pseudo import PseudoLabels

logger = logging.getLogger(__name__)


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


def training_run(
    *, version: ModelVersion, progress: Callable[[str, float], None], options: TrainingOptions
) -> dict:
    """Trains, scores, queues and activates `version` (claimed, status training)."""
    stages = StageClock(progress)
    dataset = version.dataset
    previous = ModelVersion.objects.filter(
        dataset=dataset, status=ModelVersion.Status.ACTIVE
    ).first()
    device = resolve_device(options.device)
    policy = TrainingPolicy.current()

    with stages.stage("reading"):
        arrays = training_arrays_build(dataset=dataset, window_days=policy.window_days)
        matrix = model_input(arrays)
        # Outside the audit frame: every labeled row, and the unlabeled ones or a sample of them.
        learning = learning_sample(arrays, unlabeled=options.unlabeled_sample, seed=options.seed)
        scaler = FeatureScaler.fit(matrix[learning] if len(learning) else matrix)
        x = scaler.transform(matrix)
        del matrix
        x_learning = x[learning]
        # Row positions as positions among the learning rows.
        to_learning = np.full(len(x), -1, np.int64)
        to_learning[learning] = np.arange(len(learning))
    num_classes = len(arrays.class_names)

    with stages.stage("anomaly"):
        anomaly_config = _with(options.anomaly, seed=options.seed, device=str(device))
        detectors = anomaly_ensemble_fit(
            x_learning, anomaly_config, on_progress=lambda done: stages.report("anomaly", done)
        )
        # The detectors' combined rank of every row: what the cold start picks by.
        anomaly = detectors.anomaly_score(x)
        stages.durations.update(
            {f"anomaly:{name}": seconds for name, seconds in detectors.fit_seconds.items()}
        )

    committee = None
    committee_config = _with(
        options.committee, sgan=_with(options.committee.sgan, device=str(device))
    )
    if arrays.counts["positives"] > 0:
        pseudo = PseudoLabels(
            indices=to_learning[arrays.pseudo_rows],
            classes=arrays.pseudo_codes,
            probabilities=np.ones(len(arrays.pseudo_rows)),
            weight=arrays.pseudo_weight,
        )
        stages.report("weak")  # the stage a failure inside the committee is reported in
        committee = committee_train(
            x_learning,
            to_learning[arrays.labeled],
            arrays.label_codes,
            num_classes=num_classes,
            config=committee_config,
            pseudo_labels=pseudo,
            previous_scores=None
            if arrays.previous_scores is None
            else arrays.previous_scores[learning],
            share_evidence=share_evidence_gather(previous, arrays),
            anomaly=detectors,
            seed=options.seed,
            on_progress=stages.report,  # each member is a stage of its own
        )
        stages.durations.update({m: round(t, 3) for m, t in committee.train_seconds.items()})
    kind = (
        ModelVersion.Kind.AUTOENCODER
        if committee is None
        else ModelVersion.Kind.SGAN
        if committee.sgan is not None
        else ModelVersion.Kind.WEAK
    )

    with stages.stage("evaluating"):
        metrics = version_metrics(arrays, x_learning, to_learning, options, committee)
        metrics["anomaly"] = anomaly_record(detectors)
        metrics["profiles"] = class_profiles(arrays, scaler, x)

    with stages.stage("saving"):
        path = artifact_path(version)
        bundle_save(
            ModelBundle(
                class_names=arrays.class_names,
                scaler=scaler,
                committee=committee,
                anomaly=detectors,
                metadata={
                    "version": version.pk,
                    "dataset": dataset.name,
                    "kind": str(kind),
                    # How the per-card and per-merchant features were computed, and their
                    # names (after the imported features, log amount and time of day).
                    "derived": arrays.derived_config,
                    "derived_names": arrays.derived_names,
                },
            ),
            path,
        )
        # Score with the file as read back: what is activated is exactly what is on disk, and a
        # file that cannot be read fails the run here (ModelFileError) instead of later.
        bundle = bundle_load(path, device=str(device))

    with stages.stage("scoring"):
        staged = scores_compute(arrays, x, bundle, anomaly)
        if staged.proba is not None:
            metrics["score_quantiles"] = score_quantiles(staged.score)
        # What arrivals are compared with: the score and each input on the rows it trained on.
        metrics["drift"] = drift_record(
            staged.score, x, model_input_names(dataset.feature_names, arrays), seed=options.seed
        )
    with stages.stage("audit"):
        # The new version judged on the audit's answers, all drawn before it trained; then its
        # own design for the next picks.
        fraud_probability = staged.score if committee is not None else None
        metrics["quality"] = audit_quality(arrays, fraud_probability, options)
        audit = audit_draw(
            arrays,
            fraud_probability=fraud_probability,
            anomaly=anomaly,
            policy=policy,
            rng=np.random.default_rng([options.seed, version.pk, 1]),
        )
        staged.audit_inclusion = np.full(len(arrays.transaction_ids), np.nan)
        staged.audit_inclusion[arrays.frame] = audit.inclusion
    with stages.stage("score_write"):
        scores_stage(version, arrays, staged)

    with stages.stage("queueing"):
        candidates = arrays.queue_candidates
        selection = batch_select(
            size=max(0, policy.queue_size - len(audit.picks)),
            proba=None if staged.proba is None else staged.proba[candidates],
            anomaly=anomaly[candidates],
            rng=np.random.default_rng(options.seed + version.pk),
            member_scores=None  # the anomaly rank is one of the members
            if staged.members is None
            else [m[candidates, arrays.positive_code] for m in staged.members.values()],
            embedding=bundle.committee.sgan.embed(x[candidates])
            if bundle.committee is not None and bundle.committee.sgan is not None
            else None,
            exploit_hit_rate=_exploit_hit_rate(previous),
        )
        plan = queue_plan_build(
            arrays,
            candidates=candidates,
            selection=selection,
            audit=audit,
            audit_share=policy.audit_share,
            scores=staged,
            explain=None
            if bundle.committee is None
            else partial(
                plan_explanations,
                x=x,
                committee=bundle.committee,
                names=model_input_names(dataset.feature_names, arrays),
                arrays=arrays,
            ),
        )
        queue_plan_stage(version=version, plan=plan)

    pseudo_count, pseudo_by_class = 0, {}
    with stages.stage("pseudo_labels"):
        if bundle.committee is not None:
            # Never what people will see: a queued item gets a human label soon, and the
            # spot check of its pseudo-label would take it out of the annotation queue (one
            # human queue at a time), leaving the plan short of its likely frauds.
            unavailable = arrays.human_labeled | arrays.frame
            unavailable[np.searchsorted(arrays.transaction_ids, plan.transaction_ids)] = True
            unavailable[arrays.in_review] = True
            chosen = committee_pseudo_labels(
                bundle.committee, staged.proba, human_labeled=unavailable
            )
            pseudo_count = pseudo_labels_write(version, arrays, chosen)
            pseudo_by_class = {
                name: int(np.sum(chosen.classes == code))
                for code, name in enumerate(arrays.class_names)
            }

    version.kind = kind
    version.hyperparameters = {
        "committee": _jsonable(asdict(committee_config)),
        "anomaly": _jsonable(asdict(anomaly_config)),
        "cross_validation_folds": options.cross_validation_folds,
        "seed": options.seed,
        "unlabeled_sample": options.unlabeled_sample,
        "queue_size": policy.queue_size,
        "audit": asdict(AuditConfig(share=policy.audit_share)),
    }
    version.training_counts = {
        **arrays.counts,
        "last_label_id": arrays.last_label_id,
        "fitted_on": len(learning),  # the learning rows, or the sample of them
        "pseudo_labels_out": pseudo_count,
        "pseudo_labels_by_class": pseudo_by_class,
        "queue_planned": len(plan.reasons),
        "audit_selected": audit.selected,
        "audit_queued": len(audit.picks),
    }
    version.metrics = metrics
    version.artifact_path = str(path)
    version.device = str(device)
    version.durations = stages.durations
    version.save(
        update_fields=[
            "kind",
            "hyperparameters",
            "training_counts",
            "metrics",
            "artifact_path",
            "device",
            "durations",
        ]
    )
    with stages.stage("activating"):
        outcome = model_version_activate(version=version)
    version.durations = {
        **stages.durations,
        # The stages' own times; "anomaly:<detector>" and "switch" are parts of stages.
        "total": round(sum(t for stage, t in stages.durations.items() if ":" not in stage), 3),
        "switch": outcome["switch_seconds"],  # the part of "activating" that annotators share
    }
    ModelVersion.objects.filter(pk=version.pk).update(durations=version.durations)
    del staged
    return outcome


def _with(config, **changes):
    return replace(config, **changes)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def training_run_execute(
    *,
    version_id: int,
    worker: str,
    options: TrainingOptions | None = None,
    listeners: tuple[Callable[[str, int], None], ...] = (),
) -> str:
    """Claims and runs one queued version: 'activated', 'failed' or 'not started' (another run
    trains, or this one is not queued any more: a redelivered message changes nothing)."""
    version = training_run_claim(version_id=version_id, worker=worker)
    if version is None:
        return "not started"
    recorder = ProgressRecorder(version)
    recorder.listeners.extend(listeners)
    try:
        training_run(
            version=version, progress=recorder, options=options or TrainingOptions.from_settings()
        )
    except Exception as error:  # any failure: record it on the version, keep the active one
        logger.exception("training run v%s failed", version.pk)
        detail = "".join(traceback.format_exception_only(error)).strip()
        training_run_fail(version=version, error=f"{detail} (stage '{recorder.version.stage}')")
        return "failed"
    finally:
        training_next_start()
    return "activated"
