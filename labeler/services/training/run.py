"""One training run, database to database.

read the training set -> fit the scaler -> anomaly detectors -> committee (weak + SGAN + anomaly)
-> evaluate -> save and reload the model file -> score every transaction, in shards of ids
(scoring.py) -> estimate quality on the audit -> plan the queue (the committee's picks and the
audit's) -> pseudo-labels -> activate (one transaction). Models learn from rows outside the audit
frame only; every row is scored.
Everything before activation writes only rows that belong to the new, not yet active version,
so a run that dies anywhere changes nothing annotators see.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import asdict, replace

import numpy as np

from labeler.models import ModelVersion, TrainingPolicy
from labeler.services.activation import model_version_activate
from labeler.services.training.evidence import share_evidence_gather
from labeler.services.training.options import TrainingOptions
from labeler.services.training.outputs import artifact_path
from labeler.services.training.quality import anomaly_record, class_profiles, version_metrics
from labeler.services.training.scoring import Fitted, version_score_and_plan
from labeler.services.training.stages import StageClock
from labeler.services.training_data import model_input, training_arrays_build
from labeler.services.training_runs import (
    ProgressRecorder,
    training_next_start,
    training_run_claim,
    training_run_fail,
)
from modeling.anomaly.ensemble import anomaly_ensemble_fit
from modeling.audit import AuditConfig
from modeling.committee import committee_train
from modeling.device import resolve_device
from modeling.features import FeatureScaler
from modeling.model_files import ModelBundle, bundle_load, bundle_save
from modeling.pseudo import PseudoLabels
from modeling.sgan_ensemble import members_for_device

logger = logging.getLogger(__name__)


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
        # Every row's marks; the inputs of the rows models learn from: outside the audit frame,
        # every labeled row and the unlabeled ones or a sample of them.
        arrays = training_arrays_build(
            dataset=dataset,
            window_days=policy.window_days,
            unlabeled_sample=options.unlabeled_sample,
            seed=options.seed,
            chunk_rows=options.scoring_shard_rows,
        )
        learning = arrays.learning
        matrix = model_input(arrays)  # the learning rows (every row when there are none)
        scaler = FeatureScaler.fit(matrix)
        x_learning = scaler.transform(matrix)[: len(learning)]
        del matrix
        # Row positions as positions among the learning rows.
        to_learning = np.full(len(arrays.transaction_ids), -1, np.int64)
        to_learning[learning] = np.arange(len(learning))
    num_classes = len(arrays.class_names)

    with stages.stage("anomaly"):
        anomaly_config = _with(
            options.anomaly_for(numeric=inputs_numeric(dataset, arrays)),
            seed=options.seed,
            device=str(device),
        )
        detectors = anomaly_ensemble_fit(
            x_learning, anomaly_config, on_progress=lambda done: stages.report("anomaly", done)
        )
        stages.durations.update(
            {f"anomaly:{name}": seconds for name, seconds in detectors.fit_seconds.items()}
        )

    committee = None
    sgan_members = options.sgan_members or members_for_device(device.type)
    committee_config = _with(
        options.committee,
        sgan=_with(options.committee.sgan, device=str(device), members=sgan_members),
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
        metrics["profiles"] = class_profiles(arrays, scaler, x_learning, to_learning)

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

    counts = version_score_and_plan(
        Fitted(version, arrays, bundle, path, x_learning, to_learning),
        options=options,
        policy=policy,
        previous=previous,
        stages=stages,
        metrics=metrics,
    )
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
        **counts,
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


def inputs_numeric(dataset, arrays) -> bool:
    """Whether every model input is a measurement: no category columns (one-hot) and no
    per-card or per-merchant features (counts), which the anomaly default depends on."""
    return arrays.derived is None and not (dataset.schema or {}).get("categorical")
