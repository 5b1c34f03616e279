"""The committee's record: the previous version's members, judged on the labels humans gave after
that version was trained. It sets how much the SGAN weighs in the next version's committee."""

from __future__ import annotations

import logging

import numpy as np

from labeler.models import Label, ModelVersion
from labeler.services.training_data import TrainingArrays, model_input
from modeling.committee import share_evidence_extend
from modeling.committee_shares import ShareEvidence
from modeling.model_files import ModelFileError, bundle_load

logger = logging.getLogger(__name__)


def answered_since(version: ModelVersion, arrays: TrainingArrays) -> np.ndarray:
    """Positions in `arrays.labeled` of the items first labeled after `version` read its labels
    (and by this run's reading): rows that version never trained on."""
    watermark = version.training_counts.get("last_label_id")
    if watermark is None:  # not known what it trained on: nothing is safe to count
        return np.zeros(0, np.int64)
    seen_before = Label.objects.filter(
        transaction__dataset_id=version.dataset_id, id__lte=watermark
    ).values("transaction_id")
    new_ids = (
        Label.objects.filter(
            transaction__dataset_id=version.dataset_id,
            status=Label.Status.ACTIVE,
            id__gt=watermark,
            id__lte=arrays.last_label_id,
        )
        .exclude(transaction_id__in=seen_before)
        .values_list("transaction_id", flat=True)
    )
    labeled_ids = arrays.transaction_ids[arrays.labeled]
    return np.flatnonzero(np.isin(labeled_ids, np.fromiter(set(new_ids), np.int64)))


def share_evidence_gather(
    previous: ModelVersion | None, arrays: TrainingArrays
) -> ShareEvidence | None:
    """The previous version's record, plus its members' probabilities for the answers since; None
    without a previous version whose file can be read (the next shares are then the priors)."""
    if previous is None or not previous.artifact_path:
        return None
    try:
        bundle = bundle_load(previous.artifact_path)
    except ModelFileError as error:
        logger.warning("version %s: no committee record carried on (%s)", previous.pk, error)
        return None
    if bundle.committee is None or bundle.class_names != arrays.class_names:
        return None  # classes changed since: its probabilities mean something else
    positions = answered_since(previous, arrays)
    if not len(positions):
        return bundle.committee.share_evidence
    rows = arrays.labeled[positions]
    matrix = model_input(arrays, rows)
    if matrix.shape[1] != len(bundle.scaler.center):
        return None  # it read other inputs (derived features came or went since)
    # Scaled as that version scaled its inputs: its members are judged on what they would see.
    x = bundle.scaler.transform(matrix)
    return share_evidence_extend(bundle.committee, x, arrays.label_codes[positions])
