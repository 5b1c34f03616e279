"""A new version's scores, in shards of ids.

Each shard reads its own rows from the database, scores them with the version's model file as
saved, stages the scores of its rows outside the audit frame, and writes to a file of its own
what the run's plan needs of them (training/shard_scoring.py). This module shares a run's rows
out in shards, has them scored here or on the light workers, and merges their files. No shard
reads another's rows or results, so
shards run in any order, in one process or on several workers, and again after a crash (a
shard replaces its staged rows and writes its file whole). Each ranking keeps enough rows per
shard that the plan built from the merged files is the one a single pass over every row would
build (`shards_merge`, and the test that compares them).

Orders that compare a row with the others are made per row for this: the disagreement between
members compares each member's rank among the run's training rows (`ScoringPlan.member_ranks`),
and a cold-start score is the anomaly score's rank among them, as for arrivals.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from labeler.services.training.shard_scoring import (
    ScoringShardsFailed,
    file_write_whole,
    shard_file,
    shard_score,
)

LIGHT_QUEUE = "celery"  # the queue every worker takes (settings.CELERY_TASK_ROUTES)


def scoring_folder(model_file: Path) -> Path:
    return model_file.with_name(model_file.stem + "-scoring")


def scoring_ranges(ids: np.ndarray, shard_rows: int) -> list[tuple[int, int]]:
    """(first id, last id) per shard of about `shard_rows` of the given ascending ids."""
    if not len(ids):
        return []
    starts = list(range(0, len(ids), max(1, shard_rows)))
    ends = [*starts[1:], len(ids)]
    return [(int(ids[s]), int(ids[e - 1])) for s, e in zip(starts, ends, strict=True)]


@contextmanager
def scoring_files(model_file: Path):
    """The folder of a run's scoring plan and shard files, removed when the run is done with
    it, whether it activated or failed."""
    folder = scoring_folder(model_file)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def shards_score_here(
    folder: Path, ranges: list[tuple[int, int]], on_progress: Callable[[float], None]
) -> list[Path]:
    """Every shard, one after the other in this process (one worker: a laptop)."""
    files = []
    for done, (first_id, last_id) in enumerate(ranges):
        files.append(shard_score(folder, first_id, last_id))
        on_progress((done + 1) / len(ranges))
    return files


SHARD_TASK = "labeler.tasks.scoring_shard"
POLL_SECONDS = 0.5


def shards_score_on_workers(
    folder: Path,
    ranges: list[tuple[int, int]],
    on_progress: Callable[[float], None],
    *,
    timeout: float,
) -> list[Path]:
    """Every shard as a task of its own on the light queue (any number of workers take them),
    waited for by their files: a shard whose worker dies is delivered again (late
    acknowledgement) and replaces what it staged. Raises ScoringShardsFailed when a shard
    failed or when they are not all done within `timeout` seconds (the run then fails and
    nothing annotators see changes)."""
    for first_id, last_id in ranges:
        shard_send(folder, first_id, last_id)
    files = [shard_file(folder, first_id, last_id) for first_id, last_id in ranges]
    deadline = time.monotonic() + timeout
    while True:
        failed = sorted(folder.glob("*.failed"))
        if failed:
            raise ScoringShardsFailed(f"scoring shard failed: {failed[0].read_text()}")
        done = sum(path.exists() for path in files)
        on_progress(done / len(files))  # also the run's heartbeat while it waits
        if done == len(files):
            return files
        if time.monotonic() > deadline:
            raise ScoringShardsFailed(
                f"{len(files) - done} of {len(files)} scoring shards did not finish within "
                f"{timeout:g} s: are light workers (the '{LIGHT_QUEUE}' queue) running?"
            )
        time.sleep(POLL_SECONDS)


def scoring_threads_limit() -> None:
    """A light worker's PyTorch threads while it scores shards (TRAINING_SCORING_THREADS; 0:
    PyTorch's own choice, a thread per core). Several worker processes on a machine, each
    with a thread per core, run more threads than there are cores."""
    from django.conf import settings

    threads = settings.TRAINING_SCORING_THREADS
    if threads:
        import torch

        torch.set_num_threads(threads)


def shard_send(folder: Path, first_id: int, last_id: int) -> None:
    from celery import current_app

    current_app.send_task(SHARD_TASK, args=[str(folder), first_id, last_id])


def shard_failure_record(folder: Path, first_id: int, last_id: int, error: str) -> None:
    """What the waiting run reads when a shard gave up (`shards_score_on_workers`)."""
    if folder.exists():
        file_write_whole(folder / f"shard-{first_id}-{last_id}.failed", error.encode())


MEMBER_RANK_ROWS = 50_000


def member_ranks_fit(committee, x: np.ndarray, *, positive: int, seed: int) -> dict | None:
    """Each member's fraud probability at RANK_LEVELS over (a seeded sample of) the training
    rows `x`, for `ScoringPlan.member_ranks`; None with fewer than two members."""
    from modeling.anomaly.base import ScoreRanks

    rows = np.random.default_rng(seed).permutation(len(x))[:MEMBER_RANK_ROWS]
    members = committee.member_proba(x[np.sort(rows)])
    if len(members) < 2:
        return None
    return {name: ScoreRanks.fit(p[:, positive]).quantiles.tolist() for name, p in members.items()}


@dataclass
class ShardedScores:
    """The shards' files, merged: `frame_*` over every audit frame row, `kept_*` over the rows
    kept for the plan, both in id order. The class probabilities, uncertainty and suggestions
    are None for a version without a committee; the disagreement without a second member; the
    embedding without an SGAN."""

    frame_ids: np.ndarray
    frame_number: np.ndarray
    frame_inclusion: np.ndarray
    frame_score: np.ndarray
    frame_anomaly: np.ndarray
    kept_ids: np.ndarray
    kept_score: np.ndarray
    kept_anomaly: np.ndarray
    quantile_scores: np.ndarray
    drift_scores: np.ndarray
    drift_x: np.ndarray
    frame_uncertainty: np.ndarray | None = None
    frame_suggested: np.ndarray | None = None
    kept_proba: np.ndarray | None = None
    kept_suggested: np.ndarray | None = None
    kept_disagreement: np.ndarray | None = None
    kept_embedding: np.ndarray | None = None
    # Each part's seconds over every shard (ShardClock): "seconds_read", "cpu_read", ...
    seconds: dict[str, float] = field(default_factory=dict)


def shards_merge(files: list[Path]) -> ShardedScores:
    """The shards' files (in id order) as one set of arrays."""
    parts = [dict(np.load(path)) for path in files]
    timed = {key for part in parts for key in part if key.startswith(("seconds_", "cpu_"))}
    return ShardedScores(
        **{
            name.name: np.concatenate([part[name.name] for part in parts])
            if parts and all(name.name in part for part in parts)
            else None
            for name in fields(ShardedScores)
            if name.name != "seconds"
        },
        seconds={
            key: round(float(sum(part.get(key, 0.0) for part in parts)), 3) for key in sorted(timed)
        },
    )
