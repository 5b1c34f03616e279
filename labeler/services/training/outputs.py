"""What a run writes before its activation: the model file, staged scores, pseudo-labels. All of
it belongs to the new version alone until the activation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from labeler.models import ModelVersion, PseudoLabel, StagedScore
from labeler.services.bulk_insert import columns_insert, table_statistics_refresh
from labeler.services.write_batches import columns_insert_batched
from modeling.pseudo import PseudoLabels


def artifact_path(version: ModelVersion) -> Path:
    folder = Path(settings.MEDIA_ROOT) / "models" / f"dataset-{version.dataset_id}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"version-{version.pk}.pt"


QUANTILES = 1_000
DRIFT_SAMPLE = 50_000  # rows the drift reference is drawn from


def drift_record(score: np.ndarray, x: np.ndarray, names: list[str], *, seed: int) -> dict:
    """The version's drift reference (modeling/drift.py) over a seeded sample of its rows:
    the fraud score first, then each model input, with their names."""
    from modeling.drift import drift_reference

    rows = np.random.default_rng(seed).permutation(len(score))[:DRIFT_SAMPLE]
    values = np.column_stack([np.asarray(score)[rows], np.asarray(x)[rows]])
    return {
        "columns": ["fraud score", *names],
        "rows": len(rows),
        **drift_reference(values).to_state(),
    }


def score_quantiles(score: np.ndarray) -> list[float]:
    """The version's fraud probabilities at each thousandth of its rows: what a page reads a
    score's rank from ("top 0.3% of this version's scores") when most suggestions read 1.00."""
    return np.quantile(score, np.linspace(0, 1, QUANTILES + 1)).round(7).tolist()


STAGE_CHUNK_ROWS = 25_000


def scores_stage(
    version,
    *,
    ids: np.ndarray,
    score: np.ndarray,
    uncertainty: np.ndarray | None,
    suggested: np.ndarray | None,
    audit_inclusion: np.ndarray | None = None,
) -> None:
    """Writes scores beside the transactions, for the activation to copy. A transaction per
    STAGE_CHUNK_ROWS rows (fewer on SQLite, where answers wait for each: see
    write_batches.py): one commit per row would sync every row on SQLite, one for all of them
    would hold SQLite's write lock, and so every annotator's answer, for seconds."""
    columns_insert_batched(
        StagedScore,
        {
            "model_version": version.pk,
            "transaction": np.asarray(ids, np.int64),
            "score": np.clip(score, 0.0, 1.0).astype(np.float64),
            "uncertainty": None if uncertainty is None else uncertainty.astype(np.float64),
            "suggested_class": suggested,
            "audit_inclusion": None
            if audit_inclusion is None
            else np.asarray(audit_inclusion, np.float64),
        },
        rows=len(ids),
        batch=STAGE_CHUNK_ROWS,
    )


def pseudo_labels_write(
    version, *, ids: np.ndarray, chosen: PseudoLabels, class_ids: np.ndarray
) -> int:
    """The chosen pseudo-labels (`chosen.indices`: positions in `ids`); `class_ids`: the
    LabelClass id of each model class."""
    with transaction.atomic():
        PseudoLabel.objects.filter(model_version=version).delete()
        columns_insert(
            PseudoLabel,
            {
                "transaction": ids[chosen.indices],
                "label_class": class_ids[chosen.classes],
                "model_version": version.pk,
                "probability": np.clip(chosen.probabilities, 0.0, 1.0).astype(np.float64),
                "weight": float(chosen.weight),
                "created_at": timezone.now(),
            },
            rows=len(chosen.indices),
        )
    # Fresh statistics, or PostgreSQL reads the card timeline's pseudo-labels through the
    # version's index (all 20k of them, 2 ms an item shown) instead of its rows'.
    table_statistics_refresh(PseudoLabel)
    return len(chosen.indices)
