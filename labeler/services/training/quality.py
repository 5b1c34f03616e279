"""A version's quality figures: importance-weighted estimates over the audit's answers (the ones
people see), cross-validation on the labels the committee chose (optimistic, kept for
comparison), and the class profiles the annotator page draws."""

from __future__ import annotations

import numpy as np

from labeler.services.training.options import TrainingOptions
from labeler.services.training.scoring_shards import ShardedScores
from labeler.services.training_data import TrainingArrays
from modeling.audit import audit_selected
from modeling.audit_estimate import audit_estimate
from modeling.evaluation import out_of_fold_proba
from modeling.features import FeatureScaler
from modeling.metrics import ranking_metrics


def version_metrics(
    arrays: TrainingArrays,
    x_learning: np.ndarray,
    to_learning: np.ndarray,
    options: TrainingOptions,
    committee,
) -> dict:
    """The committee's mix and the cross-validation on the labels it chose: `x_learning` holds
    the rows models learn from, `to_learning` maps row positions there."""
    metrics: dict = {
        "training_labels": len(arrays.labeled),
        "positives": arrays.counts["positives"],
    }
    if committee is not None and committee.sgan is not None:
        metrics["sgan"] = committee.sgan.record()
    if committee is not None:
        evidence = committee.share_evidence
        metrics["committee"] = {  # the members' weights, and the record they were learned from
            "sgan_share": None if committee.sgan is None else round(committee.sgan_share, 4),
            "anomaly_share": round(committee.anomaly_share, 4)
            if committee.anomaly is not None
            else None,
            "trees_share": None if committee.trees is None else round(committee.trees_share, 4),
            "record_answers": 0 if evidence is None else len(evidence.labels),
            "record_positives": 0
            if evidence is None
            else int(np.sum(evidence.labels == arrays.positive_code)),
        }
    oof = out_of_fold_proba(
        x_learning,
        to_learning[arrays.labeled],
        arrays.label_codes,
        num_classes=len(arrays.class_names),
        config=options.committee.weak,
        folds=options.cross_validation_folds,
        seed=options.seed,
    )
    if oof is None:
        return metrics
    truth = arrays.label_codes == arrays.positive_code
    scores = oof[:, arrays.positive_code]
    # The committee picked these labels itself, mostly where it expected fraud: figures on them
    # flatter it, and every page that shows them says so.
    metrics["cross_validation"] = finite(ranking_metrics(truth, scores))
    return metrics


def audit_quality(arrays: TrainingArrays, scored: ShardedScores, options, *, committee) -> dict:
    """The version's figures on the audit frame, from the audit's answers alone, or what is
    missing for them. `scored`: the version's scores of the frame's rows; `committee` False at
    cold start, when nothing is suggested: the figures wait for a committee."""
    frame = scored.frame_ids
    in_sample = audit_selected(scored.frame_number, scored.frame_inclusion)
    # Answers on frame rows the audit drew: a frame row someone labeled outside the sample
    # (through the API, say) was not drawn with a known probability and is left out.
    drawn = arrays.audit_inclusion[arrays.audit_rows] > arrays.audit_number[arrays.audit_rows]
    rows, codes = arrays.audit_rows[drawn], arrays.audit_codes[drawn]
    if not committee or not len(frame):
        frauds = int(np.sum(codes == arrays.positive_code))
        return {
            "labels": len(rows),
            "frauds": frauds,
            "frame_rows": len(frame),
            "waiting_for": "a committee" if len(frame) else "an audit frame",
        }
    known = arrays.counts["positives"] + arrays.counts["audit_positives"]
    return audit_estimate(
        frame_scores=scored.frame_score,
        answered=np.searchsorted(frame, arrays.transaction_ids[rows]),
        labels=(codes == arrays.positive_code).astype(np.int64),
        inclusion=arrays.audit_inclusion[rows],
        selected=int(in_sample.sum()),
        population=len(arrays.transaction_ids),
        known_frauds=known,
        config=options.audit_estimate,
    )


def class_profiles(
    arrays: TrainingArrays, scaler: FeatureScaler, x_learning: np.ndarray, to_learning
) -> dict:
    """Each class's typical scaled feature values, for the annotator page's chart: the mean
    over the human labels of the class (the learning rows' median for the background class
    when nobody has labeled it yet)."""
    width = arrays.features.shape[1]
    profiles: dict[str, list[float]] = {}
    for position, name in enumerate(arrays.class_names):
        rows = to_learning[arrays.labeled[arrays.label_codes == position]]
        if len(rows):
            profiles[name] = np.round(x_learning[rows, :width].mean(axis=0), 3).tolist()
        elif position == 0:
            profiles[name] = np.round(np.median(x_learning[:, :width], axis=0), 3).tolist()
    return {
        "center": np.round(scaler.center[:width], 5).tolist(),
        "scale": np.round(scaler.scale[:width], 5).tolist(),
        "classes": profiles,
    }


def finite(figures: dict) -> dict:
    """JSON has no NaN: an undefined figure is stored as null."""
    return {
        k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in figures.items()
    }


def anomaly_record(detectors) -> dict:
    """Which anomaly detectors the version ran, each one's weight and fit time, and how their
    ranks were combined: what its cold start and its anomaly member stand on."""
    return {
        "combine": detectors.combine,
        "detectors": {
            name: {
                "weight": detectors.weights[name],
                "fit_seconds": detectors.fit_seconds.get(name),
            }
            for name in detectors.detectors
        },
    }
