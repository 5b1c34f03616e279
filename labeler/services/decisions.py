"""Decisions for the issuer's authorisation or alerting flow: transactions scored by the active
version without being stored, each with its rank among the version's scores and the inputs that
pushed its fraud score most (the same reasons the annotator's card shows)."""

from __future__ import annotations

from labeler.errors import FraudloopError
from labeler.models import Dataset, LabelClass, ModelVersion
from labeler.services.ingesting import batch_table
from labeler.services.version_scoring import (
    score_top_share,
    version_bundle,
    version_input,
    version_reasons,
    version_scores,
)


class NoActiveVersion(FraudloopError):
    """The dataset has no trained version to decide with yet (the API answers 409)."""


def decisions_score(*, dataset: Dataset, body: bytes, kind: str) -> dict:
    """{"version", "kind", "decisions": [{"id", "fraud_probability", "top_share",
    "suggested_class", "reasons": [{"name", "log_odds", "deviation", "anomaly"}]}]}, one per row
    in order; nothing is stored. ImportRejected for a bad batch (as the ingestion API),
    NoActiveVersion before the first trained version."""
    from labeler.services.training.derived import derived_unstored

    version = ModelVersion.active_for(dataset.pk)
    if version is None or not version.artifact_path:
        raise NoActiveVersion(
            f"dataset {dataset.name!r} has no active model version yet: train one first."
        )
    table = batch_table(dataset, body, kind, with_ids=False)
    bundle = version_bundle(version)
    keys = {"card": table.card_keys, "merchant": table.merchant_keys}
    x = version_input(
        bundle,
        features=table.features,
        amounts=table.amount,
        times=table.time,
        derived=lambda state: derived_unstored(
            dataset,
            times=table.time,
            amounts=table.amount,
            keys={part: list(keys[part]) for part in state["entities"]},
            config_state=state,
        ),
    )
    scores = version_scores(bundle, x)
    committee = bundle.committee
    reasons = version_reasons(bundle, x, dataset, scores["members"])
    class_names = {label_class.pk: label_class.name for label_class in LabelClass.ordered()}
    quantiles = (version.metrics or {}).get("score_quantiles")
    decisions = []
    for row in range(len(x)):
        probability = None if committee is None else float(scores["score"][row])
        decisions.append(
            {
                "id": None if table.external_ids is None else table.external_ids[row],
                "fraud_probability": probability,
                "top_share": score_top_share(probability, quantiles),
                "anomaly_rank": float(scores["score"][row]) if committee is None else None,
                "suggested_class": None
                if scores["suggested"] is None
                else class_names[int(scores["suggested"][row])],
                "reasons": reasons[row],
            }
        )
    return {"version": version.pk, "kind": version.kind, "decisions": decisions}
