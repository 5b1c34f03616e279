"""One version's scores of rows outside its training run (arrivals, decisions asked for): its
model file read once per process, each row's model input built as the version built it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from labeler.models import LabelClass, ModelVersion

ANOMALY_REASON = "unusual overall (anomaly detectors)"  # the anomaly member, as a reason


def version_bundle(version: ModelVersion):
    """The version's model file, read once per process (read again if it is written again)."""
    from labeler.services.training.rescoring import bundle_cached

    path = Path(version.artifact_path)
    return bundle_cached(str(path), path.stat().st_mtime)


def version_input(
    bundle,
    *,
    features: np.ndarray,
    amounts: np.ndarray,
    times: np.ndarray,
    derived: Callable[[dict], np.ndarray],
) -> np.ndarray:
    """The scaled model input: the features, log amount and time of day, then the per-card and
    per-merchant features (`derived(config)`, where the version computed any)."""
    from modeling.features import feature_matrix

    matrix = feature_matrix(
        features, np.asarray(amounts, np.float64), np.asarray(times, np.float64)
    )
    state = bundle.metadata.get("derived")
    if state:
        matrix = np.hstack([matrix, derived(state)])
    return bundle.scaler.transform(matrix.astype(np.float32))


def stored_rows_input(bundle, dataset, rows: list[tuple]) -> np.ndarray:
    """`version_input` of stored rows read as (id, time, amount, features, ...)."""
    from labeler.services.training.derived import derived_rows

    ids = np.asarray([row[0] for row in rows], np.int64)
    return version_input(
        bundle,
        features=np.stack([np.frombuffer(bytes(row[3]), dtype="<f4") for row in rows]),
        amounts=np.asarray([row[2] for row in rows]),
        times=np.asarray([row[1] for row in rows]),
        derived=lambda state: derived_rows(dataset, ids, state),
    )


def stored_input(bundle, dataset, transaction_ids: np.ndarray) -> np.ndarray:
    """`version_input` of these stored transactions, in the given order."""
    from labeler.models import Transaction

    found = Transaction.objects.in_bulk([int(t) for t in transaction_ids])
    rows = [
        (row.pk, row.time, row.amount, row.features)
        for row in (found[int(t)] for t in transaction_ids)
    ]
    return stored_rows_input(bundle, dataset, rows)


def version_scores(bundle, x: np.ndarray) -> dict[str, np.ndarray | None]:
    """ "score" (the fraud probability; the anomaly rank for a cold-start version),
    "uncertainty", "suggested" (class ids) and "members" (each member's probabilities), all
    None at cold start."""
    from modeling.acquisition import margin

    if bundle.committee is None:
        return {
            "score": bundle.anomaly.anomaly_rank(x),
            "uncertainty": None,
            "suggested": None,
            "members": None,
        }
    members = bundle.committee.member_proba(x)
    proba = bundle.committee.predict_proba(x, members)
    classes = LabelClass.ordered()  # from memory: decisions read them on every request
    by_name = {label_class.name: label_class.pk for label_class in classes}
    class_ids = np.asarray([by_name[name] for name in bundle.class_names], np.int64)
    positive = _positive_name(classes)
    return {
        "score": proba[:, bundle.class_names.index(positive)],
        "uncertainty": np.clip(margin(proba), 0.0, 1.0),
        "suggested": class_ids[proba.argmax(axis=1)],
        "members": members,
    }


def _positive_name(classes: list[LabelClass]) -> str | None:
    return next((label_class.name for label_class in classes if label_class.is_positive), None)


def score_top_share(score: float | None, quantiles: list[float] | None) -> float | None:
    """The share of the version's scored rows that score at least this high (0.003: the top
    0.3%), from its score quantiles; None without them."""
    if score is None or not quantiles or len(quantiles) < 2:
        return None
    below = int(np.searchsorted(np.asarray(quantiles), score, side="left"))
    share = max(1 - (below - 1) / (len(quantiles) - 1), 1 / (len(quantiles) - 1))
    return min(share, 1.0)


def input_names(bundle, dataset) -> list[str]:
    """A name a person reads for each column of the version's model input."""
    derived = bundle.metadata.get("derived_names") or []
    return [*dataset.feature_names, "amount", "hour of day", "hour of day", *derived]


def version_reasons(bundle, x: np.ndarray, dataset, members=None) -> list[list[dict]]:
    """Each row's strongest reasons ({"name", "log_odds", "deviation", "anomaly"}, at most 3,
    by occlusion: modeling/explain.py); empty lists for a cold-start version. `members`: the
    committee's member probabilities of `x` (`version_scores`), if at hand."""
    from modeling.explain import ANOMALY, occlusion_reasons

    if bundle.committee is None or len(x) == 0:
        return [[] for _ in range(len(x))]
    positive = _positive_name(LabelClass.ordered())
    names = input_names(bundle, dataset)
    return [
        [
            {
                "name": ANOMALY_REASON if r.feature == ANOMALY else names[r.feature],
                "log_odds": round(r.log_odds, 3),
                "deviation": round(r.deviation, 2),
                "anomaly": r.feature == ANOMALY,
            }
            for r in found
        ]
        for found in occlusion_reasons(
            bundle.committee, x, positive=bundle.class_names.index(positive), members=members
        )
    ]


def version_explanations(bundle, x: np.ndarray, dataset, members=None) -> list[dict | None]:
    """A queue entry's explanation for each row (its reasons; no nearest labeled, which needs
    every labeled row's input); None for a cold-start version."""
    if bundle.committee is None:
        return [None] * len(x)
    found = version_reasons(bundle, x, dataset, members)
    return [{"reasons": reasons, "nearest": []} for reasons in found]
