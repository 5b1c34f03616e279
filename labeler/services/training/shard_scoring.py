"""One shard of a run's scoring: the rows with ids from `first_id` to `last_id`, scored with the
version's model file as saved (training/scoring_shards.py shares a run's rows out in shards and
merges their files). A shard reads its own rows, stages the scores of those outside the audit
frame, and writes to a file of its own what the run's plan needs of them: the audit frame's
rows with their scores, the rows near the top of each order the queue and the pseudo-labels
pick by, seeded samples for the score quantiles and the drift reference, and the seconds each
part took."""

from __future__ import annotations

import io
import json
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from labeler.errors import FraudloopError
from labeler.models import ModelVersion, StagedScore
from labeler.services.training.derived import derived_for_rows
from labeler.services.training.outputs import DRIFT_SAMPLE, scores_stage
from labeler.services.training_data import rows_in_window
from labeler.services.training_rows import feature_rows_read

QUANTILE_SAMPLE = 200_000  # rows the score quantiles are taken over, at most (in expectation)


@dataclass
class ScoringPlan:
    """What every shard of a run needs, written once beside the model file (JSON)."""

    version_id: int
    model_file: str
    window_start: float | None  # rows_in_window's start: the rows the run read
    last_id: int  # rows with larger ids arrived after the run began: the next run's
    rows: int  # rows the run read, for the samples' rates
    seed: int
    picks: int  # rows each ranking keeps per shard
    pseudo_picks: dict[int, int]  # rows per shard for each class's pseudo-labels
    positive_code: int
    class_ids: list[int]  # LabelClass id per model class
    # Each member's fraud probability at each thousandth of the training rows: the ranks the
    # members' disagreement compares. None at cold start.
    member_ranks: dict[str, list[float]] | None = None
    # Rows that are never queued nor pseudo-labeled: human-labeled, disputed, waiting for review.
    excluded: list[int] = field(default_factory=list)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        file_write_whole(folder / "plan.json", json.dumps(asdict(self)).encode())

    @classmethod
    def load(cls, folder: Path) -> ScoringPlan:
        state = json.loads((folder / "plan.json").read_text())
        state["pseudo_picks"] = {int(k): v for k, v in state["pseudo_picks"].items()}
        return cls(**state)


def file_write_whole(path: Path, content: bytes) -> None:
    """Writes the file whole or not at all."""
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    os.replace(partial, path)


class ScoringShardsFailed(FraudloopError):
    """A shard failed on its worker, or the shards did not all finish in time."""


def shard_file(folder: Path, first_id: int, last_id: int) -> Path:
    return folder / f"shard-{first_id}-{last_id}.npz"


class ShardClock:
    """Seconds a shard spends on each part, wall clock and this process's CPU time, written
    into its file: what the run records of where its scoring time went (CPU time well below
    the wall clock is time spent waiting: on the database, or on cores other processes
    hold)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def part(self, name: str):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[f"seconds_{name}"] = time.perf_counter() - wall
            self.seconds[f"cpu_{name}"] = time.process_time() - cpu


@dataclass
class ShardScores:
    """A shard's rows as the version scores them (see ShardedScores for the Nones)."""

    anomaly: np.ndarray
    score: np.ndarray
    proba: np.ndarray | None = None
    uncertainty: np.ndarray | None = None
    suggested: np.ndarray | None = None
    disagreement: np.ndarray | None = None


def shard_score(folder: Path, first_id: int, last_id: int) -> Path:
    """Scores the plan's rows with ids `first_id`..`last_id`, stages their scores and writes the
    shard's file (see the module's text). Returns the file. A shard of a run that is not
    training any more (failed meanwhile) raises ScoringShardsFailed and writes nothing."""
    from labeler.services.training.rescoring import bundle_cached

    clock = ShardClock()
    plan = ScoringPlan.load(folder)
    version = ModelVersion.objects.select_related("dataset").get(pk=plan.version_id)
    if version.status != ModelVersion.Status.TRAINING:
        raise ScoringShardsFailed(f"v{version.pk} is {version.status}: its shards are moot")
    dataset = version.dataset
    bundle = bundle_cached(plan.model_file, Path(plan.model_file).stat().st_mtime)
    base = rows_in_window(dataset, plan.window_start).filter(id__lte=plan.last_id)
    with clock.part("read"):
        rows = feature_rows_read(
            base.filter(id__gte=first_id, id__lte=last_id), len(dataset.feature_names)
        )
    with clock.part("derived"):
        x = _model_input(bundle, dataset, base, rows)
    with clock.part("model"):
        scores = _shard_scores(bundle, x, plan)
    frame = ~np.isnan(rows.audit_number)
    with clock.part("stage"):
        _stage(version, first_id, last_id, rows.ids, ~frame, scores)
    with clock.part("select"):
        arrays = _shard_arrays(plan, first_id, rows, x, frame, scores, bundle.committee)
    content = io.BytesIO()
    np.savez(content, **arrays, **clock.seconds)
    path = shard_file(folder, first_id, last_id)
    file_write_whole(path, content.getvalue())
    return path


def _shard_scores(bundle, x: np.ndarray, plan: ScoringPlan) -> ShardScores:
    from modeling.acquisition import margin

    anomaly = bundle.anomaly.anomaly_score(x)
    committee = bundle.committee
    if committee is None:
        return ShardScores(anomaly=anomaly, score=bundle.anomaly.ranks.rank(anomaly))
    members = committee.member_proba(x, anomaly)  # the detectors' score, computed once
    proba = committee.predict_proba(x, members)
    return ShardScores(
        anomaly=anomaly,
        score=proba[:, plan.positive_code],
        proba=proba,
        uncertainty=np.clip(margin(proba), 0.0, 1.0),
        suggested=np.asarray(plan.class_ids, np.int64)[proba.argmax(axis=1)],
        disagreement=_disagreement(members, plan),
    )


def _shard_arrays(
    plan, first_id, rows, x, frame, scores: ShardScores, committee
) -> dict[str, np.ndarray]:
    """What the shard's file holds of its rows (see ShardedScores)."""
    candidates = ~frame & ~np.isin(rows.ids, np.asarray(plan.excluded, np.int64))
    kept = _kept(
        candidates,
        plan,
        proba=scores.proba,
        anomaly=scores.anomaly,
        disagreement=scores.disagreement,
    )
    rng = np.random.default_rng([plan.seed, first_id])
    quantile_sample = rng.random(len(rows.ids)) < QUANTILE_SAMPLE / max(plan.rows, 1)
    drift_sample = rng.random(len(rows.ids)) < DRIFT_SAMPLE / max(plan.rows, 1)
    score = scores.score
    arrays = {
        "frame_ids": rows.ids[frame],
        "frame_number": rows.audit_number[frame],
        "frame_inclusion": rows.audit_inclusion[frame],
        "frame_score": score[frame],
        "frame_anomaly": scores.anomaly[frame],
        "kept_ids": rows.ids[kept],
        "kept_score": score[kept],
        "kept_anomaly": scores.anomaly[kept],
        "quantile_scores": score[quantile_sample],
        "drift_scores": score[drift_sample],
        "drift_x": x[drift_sample],
    }
    if scores.proba is not None:
        arrays |= {
            "frame_uncertainty": scores.uncertainty[frame],
            "frame_suggested": scores.suggested[frame],
            "kept_proba": scores.proba[kept],
            "kept_suggested": scores.suggested[kept],
        }
        if scores.disagreement is not None:
            arrays["kept_disagreement"] = scores.disagreement[kept]
        if committee.sgan is not None:
            arrays["kept_embedding"] = committee.sgan.embed(x[kept])
    return arrays


def _model_input(bundle, dataset, base, rows) -> np.ndarray:
    from labeler.services.version_scoring import version_input

    return version_input(
        bundle,
        features=rows.features,
        amounts=rows.amounts,
        times=rows.times,
        derived=lambda state: (
            derived_for_rows(dataset, base, rows, state)[0]
            if len(rows.ids)
            else np.zeros((0, len(bundle.metadata.get("derived_names") or [])))
        ),
    )


def _disagreement(members: dict[str, np.ndarray] | None, plan: ScoringPlan) -> np.ndarray | None:
    """The spread of the members' ranks among the training rows, per row (None: one member)."""
    from modeling.anomaly.base import ScoreRanks

    if members is None or not plan.member_ranks or len(members) < 2:
        return None
    ranks = [
        ScoreRanks(np.asarray(plan.member_ranks[name])).rank(p[:, plan.positive_code])
        for name, p in members.items()
    ]
    return np.stack(ranks).std(axis=0)


def _kept(
    candidates: np.ndarray,
    plan: ScoringPlan,
    *,
    proba: np.ndarray | None,
    anomaly: np.ndarray,
    disagreement: np.ndarray | None,
) -> np.ndarray:
    """Positions of the candidate rows near the top of any order the plan picks by: the anomaly
    score, and with a committee the fraud probability, the disagreement, the uncertainty and
    each class's pseudo-label confidence; in position (id) order."""
    from modeling.acquisition import margin

    rows = np.flatnonzero(candidates)
    orders = [anomaly[rows]]
    if proba is not None:
        orders += [proba[rows, plan.positive_code], margin(proba[rows])]
        if disagreement is not None:
            orders.append(disagreement[rows])
    kept = [rows[np.argsort(-order, kind="stable")[: plan.picks]] for order in orders]
    if proba is not None:
        predicted, confidence = proba[rows].argmax(axis=1), proba[rows].max(axis=1)
        for code, count in plan.pseudo_picks.items():
            of_class = np.flatnonzero(predicted == code)
            best = of_class[np.argsort(-confidence[of_class], kind="stable")[:count]]
            kept.append(rows[best])
    return np.unique(np.concatenate(kept)) if kept else np.zeros(0, np.int64)


def _stage(version, first_id, last_id, ids, rows, scores: ShardScores) -> None:
    """The shard's staged scores (`rows` of it: the frame's are staged with the audit's
    inclusion, after the merge), replacing any an earlier try of the shard wrote."""
    StagedScore.objects.filter(
        model_version=version, transaction_id__gte=first_id, transaction_id__lte=last_id
    ).delete()
    scores_stage(
        version,
        ids=ids[rows],
        score=scores.score[rows],
        uncertainty=None if scores.uncertainty is None else scores.uncertainty[rows],
        suggested=None if scores.suggested is None else scores.suggested[rows],
    )
