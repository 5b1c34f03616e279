"""One transaction scored again by every kept model version, from the version's model file:
a transaction's history shows what each version thought of it, without storing every score of
every version."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from labeler.models import LabelClass, ModelVersion, Transaction
from labeler.services.training.derived import derived_row
from modeling.features import feature_matrix
from modeling.model_files import ModelBundle, ModelFileError, bundle_load


@dataclass
class VersionScore:
    version: ModelVersion
    fraud_probability: float | None  # None for a cold-start (anomaly detectors only) version
    anomaly: float | None  # reconstruction error; higher is more unusual
    error: str = ""  # why the version could not score it (its model file is gone or unreadable)


@lru_cache(maxsize=16)
def bundle_cached(path: str, modified: float) -> ModelBundle:
    """A model file read once per process (`modified` keys the cache: a file written again is
    read again)."""
    return bundle_load(path)


def transaction_scores_by_version(
    *, transaction: Transaction, limit: int = 10
) -> list[VersionScore]:
    """The newest `limit` ready or active versions of the transaction's dataset, each scoring it."""
    versions = ModelVersion.objects.filter(
        dataset_id=transaction.dataset_id,
        status__in=[ModelVersion.Status.ACTIVE, ModelVersion.Status.READY],
    ).order_by("-pk")[:limit]
    matrix = feature_matrix(
        transaction.feature_vector[None, :],
        np.asarray([transaction.amount]),
        np.asarray([transaction.time]),
    )
    derived: dict[str, np.ndarray] = {}  # by the config a version computed them with
    positive = LabelClass.objects.filter(is_positive=True).values_list("name", flat=True).first()
    scores = []
    for version in versions:
        path = Path(version.artifact_path)
        try:
            if not version.artifact_path:
                raise ModelFileError("no model file was saved for this version")
            if not path.exists():
                raise ModelFileError(f"{path}: the model file is missing")
            bundle = bundle_cached(str(path), path.stat().st_mtime)
            state = bundle.metadata.get("derived")
            if state:
                key = repr(sorted(state.items()))
                if key not in derived:
                    derived[key] = derived_row(transaction, state)
                x = bundle.scaler.transform(np.hstack([matrix, derived[key][None, :]]))
            else:
                x = bundle.scaler.transform(matrix)
        except (ModelFileError, ValueError) as error:
            scores.append(VersionScore(version, None, None, error=str(error)))
            continue
        probability = None
        if bundle.committee is not None and positive in bundle.class_names:
            proba = bundle.committee.predict_proba(x)[0]
            probability = float(proba[bundle.class_names.index(positive)])
        anomaly = None  # the share of the version's training rows less unusual than this one
        if bundle.anomaly is not None and bundle.anomaly.ranks is not None:
            anomaly = float(bundle.anomaly.anomaly_rank(x)[0])
        scores.append(VersionScore(version, probability, anomaly))
    return scores
