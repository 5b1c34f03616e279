"""Scoring in shards of ids: the same staged scores, queue and pseudo-labels as one pass over
every row, shards that can run again, and the folder of shard files removed after the run."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from django.db import transaction

from labeler.models import PlannedQueueEntry, PseudoLabel, QueueEntry, StagedScore, Transaction
from labeler.services.demo import demo_data_import
from labeler.services.training import run as run_module
from labeler.services.training import scoring, scoring_shards
from labeler.services.training.scoring_shards import scoring_ranges
from labeler.tasks import scoring_shard
from tests.labeler.test_training_run import visible_state
from tests.labeler.training_helpers import (
    label_queue,
    raw_committee_version,
    run,
    runs_in_this_process,
    small_options,
)

pytestmark = pytest.mark.django_db

QUEUE = 12  # a short queue, so each shard keeps only part of its rows


@pytest.fixture(autouse=True)
def no_broker(monkeypatch, settings, tmp_path):
    runs_in_this_process(monkeypatch, settings, tmp_path, queue_size=QUEUE)


class Rollback(Exception):
    pass


def _staged(version) -> dict:
    """What a version's scoring and planning wrote for its activation."""
    return {
        "scores": list(
            StagedScore.objects.filter(model_version=version)
            .order_by("transaction_id")
            .values_list("transaction_id", "score", "uncertainty", "suggested_class_id")
        ),
        "frame": list(
            StagedScore.objects.filter(model_version=version, audit_inclusion__isnull=False)
            .order_by("transaction_id")
            .values_list("transaction_id", "audit_inclusion")
        ),
        "queue": list(
            PlannedQueueEntry.objects.filter(model_version=version)
            .order_by("-priority", "transaction_id")
            .values_list("transaction_id", "priority", "reason", "score", "suggested_class_id")
        ),
        "pseudo": list(
            PseudoLabel.objects.filter(model_version=version)
            .order_by("transaction_id")
            .values_list("transaction_id", "label_class_id", "probability")
        ),
    }


def _plans_by_shard_size(monkeypatch, dataset, options, sizes) -> tuple[dict, dict]:
    """Runs a version whose scoring and planning is done once per shard size (each undone but
    the last), with what each wrote, and how many rows the shards kept for the plan."""
    real_plan, real_merge = scoring.version_score_and_plan, scoring.shards_merge
    written, kept = {}, {}

    def merge(files):
        merged = real_merge(files)
        kept[len(files)] = len(merged.kept_ids)
        return merged

    def planned_per_size(fitted, **kwargs):
        for size in sizes:
            changed = {**kwargs, "options": replace(kwargs["options"], scoring_shard_rows=size)}
            try:
                with transaction.atomic():
                    real_plan(fitted, **{**changed, "metrics": {}})
                    written[size] = _staged(fitted.version)
                    raise Rollback
            except Rollback:
                pass
        return real_plan(fitted, **kwargs)

    monkeypatch.setattr(run_module, "version_score_and_plan", planned_per_size)
    monkeypatch.setattr(scoring, "shards_merge", merge)
    version = run(dataset, options)
    assert version.status == "active", version.error
    return written, kept


def _columns(rows: list[tuple], *at: int) -> list[tuple]:
    return [tuple(row[i] for i in at) for row in rows]


def _numbers(rows: list[tuple]) -> np.ndarray:
    """Each staged row's score and uncertainty (NaN: none)."""
    return np.asarray([[np.nan if v is None else v for v in row[1:3]] for row in rows], float)


def _assert_rows_same(rows: list[tuple], expected: list[tuple]) -> None:
    """The same rows in the same order, each float as close as the staged scores must be
    (np.allclose's tolerance): the models score in float32, and a block of 400 rows and one
    of all of them go through different matrix kernels on some CPUs, which round the last
    float32 digit differently."""
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected, strict=True):
        assert len(row) == len(want)
        for value, wanted in zip(row, want, strict=True):
            if isinstance(wanted, float) and isinstance(value, float):
                assert value == pytest.approx(wanted, rel=1e-5, abs=1e-8), (row, want)
            else:
                assert value == wanted, (row, want)


def _assert_same(written: dict, kept: dict, rows: int) -> None:
    one, *others = written.values()
    assert one["scores"] and one["queue"] and one["frame"]
    for other in others:
        _assert_rows_same(other["queue"], one["queue"])
        _assert_rows_same(other["pseudo"], one["pseudo"])
        assert other["frame"] == one["frame"]
        assert _columns(other["scores"], 0, 3) == _columns(one["scores"], 0, 3)
        assert np.allclose(_numbers(other["scores"]), _numbers(one["scores"]), equal_nan=True)
    # The shards kept part of their rows for the plan, not all of them.
    assert min(kept.values()) < rows / 2 and max(kept) > 1


def _few_pseudo_labels():
    """Small pseudo-label caps: with the default 20,000 a shard keeps most of its rows."""
    options = small_options()
    options.committee.pseudo = replace(options.committee.pseudo, caps={0: 40, 1: 4})
    return options


def test_shards_plan_what_one_pass_plans_at_cold_start_and_with_a_committee(monkeypatch, bob):
    dataset = demo_data_import(rows=3000, features=8, fraud_rate=0.02, seed=5).dataset
    options = small_options()
    sizes = (10**9, 700, 250)  # one shard, five, twelve
    written, kept = _plans_by_shard_size(monkeypatch, dataset, options, sizes[:2])
    _assert_same(written, kept, 3000)
    assert {entry[2] for entry in written[700]["queue"]} == {"cold_start", "audit"}

    label_queue(dataset, bob, QUEUE)  # the cold start's picks hold frauds
    written, kept = _plans_by_shard_size(monkeypatch, dataset, _few_pseudo_labels(), sizes)
    _assert_same(written, kept, 3000)
    reasons = {entry[2] for entry in written[700]["queue"]}
    assert {"likely_fraud", "disagreement", "uncertain", "audit"} <= reasons
    assert written[700]["pseudo"]


def test_shards_of_a_raw_dataset_compute_each_rows_card_and_merchant_history(monkeypatch, bob):
    dataset, _ = raw_committee_version(bob)
    rows = dataset.transactions.count()
    written, kept = _plans_by_shard_size(monkeypatch, dataset, _few_pseudo_labels(), (10**9, 400))
    _assert_same(written, kept, rows)


def test_a_shard_that_runs_again_stages_each_of_its_rows_once(monkeypatch):
    dataset = demo_data_import(rows=1500, features=6, fraud_rate=0.02, seed=3).dataset
    real = scoring_shards.shard_score
    staged_per_try = []

    def died_then_retried(folder, first_id, last_id):
        in_range = StagedScore.objects.filter(
            transaction_id__gte=first_id, transaction_id__lte=last_id
        )
        real(folder, first_id, last_id).unlink()  # a try that died before its file was read
        first_try = in_range.count()
        path = real(folder, first_id, last_id)
        staged_per_try.append((first_try, in_range.count()))
        return path

    monkeypatch.setattr(scoring_shards, "shard_score", died_then_retried)
    version = run(dataset, replace(small_options(), scoring_shard_rows=400))
    assert version.status == "active", version.error
    assert len(staged_per_try) == 4
    assert all(first == again > 0 for first, again in staged_per_try)
    rows = Transaction.objects.filter(dataset=dataset)
    assert rows.filter(scored_by=version).count() == rows.count() == 1500
    assert not StagedScore.objects.exists()


def test_scoring_ranges_cover_every_id_once():
    ids = np.asarray([3, 4, 9, 10, 11, 20, 21])
    assert scoring_ranges(ids, 3) == [(3, 9), (10, 20), (21, 21)]
    assert scoring_ranges(ids, 100) == [(3, 21)]
    assert scoring_ranges(ids[:0], 3) == []


def test_the_shard_files_are_removed_after_the_run(bob, tmp_path):
    dataset = demo_data_import(rows=1500, features=6, fraud_rate=0.02, seed=3).dataset
    options = replace(small_options(), scoring_shard_rows=400)
    version = run(dataset, options)
    assert version.status == "active"
    assert version.training_counts["scoring_shards"] == 4
    model_file = Path(version.artifact_path)
    assert model_file.exists()
    assert [p.name for p in model_file.parent.iterdir()] == [model_file.name]


def test_a_version_records_where_its_shards_spent_their_time(bob):
    dataset = demo_data_import(rows=1500, features=6, fraud_rate=0.02, seed=3).dataset
    version = run(dataset, replace(small_options(), scoring_shard_rows=400))
    parts = version.metrics["scoring_parts"]
    assert set(parts) == {
        f"{kind}_{part}"
        for kind in ("seconds", "cpu")
        for part in ("read", "derived", "model", "stage", "select")
    }
    assert all(seconds >= 0 for seconds in parts.values())
    # Four shards' model parts: more than nothing, less than the whole scoring stage.
    assert 0 < parts["seconds_model"] < version.durations["scoring"]


@pytest.fixture
def shards_sent(monkeypatch):
    """Shard tasks sent to the light queue, as (folder, first id, last id); none runs."""
    sent = []
    monkeypatch.setattr(
        scoring_shards, "shard_send", lambda folder, *ids: sent.append((str(folder), *ids))
    )
    return sent


def _on_workers(**changes):
    return replace(small_options(), scoring_on_workers=True, scoring_shard_rows=400, **changes)


def test_shards_sent_to_workers_are_waited_for_then_planned(shards_sent, monkeypatch):
    dataset = demo_data_import(rows=1500, features=6, fraud_rate=0.02, seed=3).dataset
    # A worker takes each shard as it is sent (here: at once, in this process).
    monkeypatch.setattr(
        scoring_shards,
        "shard_send",
        lambda folder, *ids: shards_sent.append(scoring_shard.apply(args=[str(folder), *ids])),
    )
    version = run(dataset, _on_workers())
    assert version.status == "active", version.error
    assert len(shards_sent) == version.training_counts["scoring_shards"] == 4
    rows = Transaction.objects.filter(dataset=dataset)
    assert rows.filter(scored_by=version).count() == rows.count() == 1500
    assert QueueEntry.objects.filter(model_version=version).count() == QUEUE


def test_a_shard_that_keeps_failing_fails_the_run_and_changes_nothing(shards_sent, monkeypatch):
    dataset = demo_data_import(rows=1500, features=6, fraud_rate=0.02, seed=3).dataset
    run(dataset)
    before = visible_state()
    tries = []

    def broken(folder, first_id, last_id):
        tries.append(first_id)
        if first_id == first_of_second:
            raise OSError("disk full")
        return real(folder, first_id, last_id)

    real = scoring_shards.shard_score
    first_of_second = scoring_ranges(
        np.asarray(Transaction.objects.order_by("id").values_list("id", flat=True)), 400
    )[1][0]
    monkeypatch.setattr(scoring_shards, "shard_score", broken)
    monkeypatch.setattr(
        scoring_shards,
        "shard_send",
        lambda folder, *ids: scoring_shard.apply(args=[str(folder), *ids]),
    )
    failed = run(dataset, _on_workers())
    assert failed.status == "failed" and "disk full" in failed.error
    assert tries.count(first_of_second) == 3  # tried, then retried twice
    assert visible_state() == before


def test_a_run_whose_shards_never_finish_fails_and_late_shards_write_nothing(shards_sent):
    dataset = demo_data_import(rows=1500, features=6, fraud_rate=0.02, seed=3).dataset
    run(dataset)
    before = visible_state()
    failed = run(dataset, _on_workers(scoring_timeout=1.0))
    assert failed.status == "failed" and "did not finish" in failed.error
    assert len(shards_sent) == 4
    assert visible_state() == before
    # The shards arrive after all: the run is over, they stage nothing.
    for folder, first_id, last_id in shards_sent:
        scoring_shard.apply(args=[folder, first_id, last_id])
    assert not StagedScore.objects.filter(model_version=failed).exists()


def test_a_light_worker_scores_with_the_threads_the_setting_gives(settings):
    import torch

    before = torch.get_num_threads()
    try:
        settings.TRAINING_SCORING_THREADS = 1
        scoring_shards.scoring_threads_limit()
        assert torch.get_num_threads() == 1
        settings.TRAINING_SCORING_THREADS = 0  # PyTorch's own choice: left as it is
        torch.set_num_threads(before)
        scoring_shards.scoring_threads_limit()
        assert torch.get_num_threads() == before
    finally:
        torch.set_num_threads(before)
