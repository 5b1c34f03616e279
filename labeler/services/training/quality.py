"""A version's quality figures (cross-validated, and on the random audit sample) and the class
profiles the annotator page draws."""

from __future__ import annotations

import numpy as np

from labeler.services.training.options import TrainingOptions
from labeler.services.training_data import TrainingArrays
from modeling.evaluation import out_of_fold_proba
from modeling.features import FeatureScaler
from modeling.metrics import ranking_metrics


def version_metrics(
    arrays: TrainingArrays, x: np.ndarray, options: TrainingOptions, committee
) -> dict:
    metrics: dict = {
        "training_labels": len(arrays.labeled),
        "positives": arrays.counts["positives"],
    }
    if committee is not None and committee.sgan is not None:
        metrics["sgan"] = {"best_step": committee.sgan.best_step, "history": committee.sgan.history}
    if committee is not None:
        evidence = committee.share_evidence
        metrics["committee"] = {  # the members' weights, and the record they were learned from
            "sgan_share": None if committee.sgan is None else round(committee.sgan_share, 4),
            "anomaly_share": round(committee.anomaly_share, 4)
            if committee.autoencoder is not None
            else None,
            "record_answers": 0 if evidence is None else len(evidence.labels),
            "record_positives": 0
            if evidence is None
            else int(np.sum(evidence.labels == arrays.positive_code)),
        }
    oof = out_of_fold_proba(
        x,
        arrays.labeled,
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
    metrics["cross_validation"] = finite(ranking_metrics(truth, scores))
    if arrays.audit.any():
        metrics["audit"] = finite(ranking_metrics(truth[arrays.audit], scores[arrays.audit]))
    return metrics


def class_profiles(arrays: TrainingArrays, scaler: FeatureScaler, x: np.ndarray) -> dict:
    """Each class's typical scaled feature values, for the annotator page's chart: the mean
    over the human labels of the class (the whole dataset's for the background class when
    nobody has labeled it yet)."""
    width = arrays.features.shape[1]
    profiles: dict[str, list[float]] = {}
    for position, name in enumerate(arrays.class_names):
        rows = arrays.labeled[arrays.label_codes == position]
        if len(rows):
            profiles[name] = np.round(x[rows, :width].mean(axis=0), 3).tolist()
        elif position == 0:
            profiles[name] = np.round(np.median(x[:, :width], axis=0), 3).tolist()
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
