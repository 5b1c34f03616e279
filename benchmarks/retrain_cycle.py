"""Retrain cycle: each stage of a training run timed, by database and by data size.

    python benchmarks/retrain_cycle.py                  # every case below, one subprocess each
    python benchmarks/retrain_cycle.py --case sqlite:reference --case postgres:generated:1000000

Cases: the reference file (generated data when absent) on SQLite and PostgreSQL, then generated
data at 10k / 100k / 285k / 1M rows on SQLite. Each case imports the data into a fresh database
(not timed), runs a cold-start cycle, lets a simulated annotator label 500 items (the reference
labels as the oracle), runs a full cycle, adds 50 labels and times a third cycle (the steady
state: pseudo-labels of the previous version in, a queue with leases to keep). The baseline, run
in the same process on the same arrays, is the cheapest retrain there is: the weak classifier
alone, fitted and scoring every row in memory ("x weak" = cycle / baseline).
Targets on 2 CPU cores: a cycle at 285k rows <= 60 s, reading <= 3 s, scoring >= 200k rows/s.

--device cpu --device cuda runs every case once per device (TRAINING_DEVICE), to compare a CUDA
worker with a CPU one on the same machine; the table's "device" column is what the version
recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/fraudloop_bench"
DEFAULT_CASES = [
    "sqlite:reference",
    "postgres:reference",
    "sqlite:generated:10000",
    "sqlite:generated:100000",
    "sqlite:generated:284807",
    "sqlite:generated:1000000",
]
STAGES = [
    "reading",
    "anomaly",
    "weak",
    "sgan",
    "evaluating",
    "saving",
    "scoring",
    "audit",
    "score_write",
    "queueing",
    "pseudo_labels",
    "activating",
]


def run_case(case: str, workdir: Path) -> dict:
    database, source, *size = case.split(":")
    url = POSTGRES_URL if database == "postgres" else f"sqlite:///{workdir / 'bench.sqlite3'}"
    if database == "postgres":
        from import_speed import fresh_postgres_database

        fresh_postgres_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")
    os.environ.setdefault("DEBUG", "true")  # a development run: the public key is fine
    import django

    django.setup()
    from django.core.management import call_command
    from import_speed import REFERENCE_FILE, generated_file

    from labeler.models import (
        Dataset,
        ModelVersion,
        QueueEntry,
        ReferenceLabel,
        TrainingPolicy,
    )
    from labeler.services.importing import transactions_import
    from labeler.services.training_data import training_arrays_build
    from modeling.features import FeatureScaler
    from modeling.weak import WeakClassifier

    call_command("migrate", verbosity=0)
    path = REFERENCE_FILE
    if source == "generated" or not path.exists():
        path = generated_file(workdir, int(size[0]) if size else 284_807)
    transactions_import(path=path, dataset_name="bench", label_mode="reference")
    dataset = Dataset.objects.get(name="bench")
    annotator = _annotator()

    def cycle() -> ModelVersion:
        return timed_cycle(dataset, case)

    policy = TrainingPolicy.current()
    policy.queue_size = 500  # the simulated annotator answers 500 items in one go
    policy.save()
    cycle()
    _label_queue(dataset, annotator, 500)
    cycle()
    _label_queue(dataset, annotator, 50)
    _lease_some(QueueEntry, annotator)
    steady = cycle()

    # Baseline: the weak classifier alone, fitted on the same labels and scoring every row,
    # in this process: what the committee, the anomaly detectors, the evaluation and the database
    # work cost on top of the cheapest model there is.
    arrays = training_arrays_build(dataset=dataset)
    x = FeatureScaler.fit(arrays.features).transform(arrays.features)
    started = time.perf_counter()
    labeled = x[arrays.read_positions(arrays.labeled)]  # x: the rows read, outside the frame
    weak = WeakClassifier(2).fit(labeled, arrays.label_codes, x_unlabeled=x)
    weak.predict_proba(x)
    baseline_seconds = time.perf_counter() - started
    return {
        "case": case,
        "rows": int(steady.training_counts["transactions"]),
        "frauds_in_data": ReferenceLabel.objects.filter(label_class__is_positive=True).count(),
        "labels": int(steady.training_counts["human_labels"]),
        "positives": int(steady.training_counts["positives"]),
        "pseudo_in": int(steady.training_counts["pseudo_labels_in"]),
        "kind": steady.kind,
        "device": steady.device,
        "durations": steady.durations,
        "wall": steady.wall,
        "baseline": baseline_seconds,
    }


def timed_cycle(dataset, label: str):
    """One training run in this process, activated (or the benchmark stops); `wall`: seconds."""
    from labeler.services.training import training_run_execute
    from labeler.services.training_runs import training_request

    version = training_request(dataset=dataset, trigger="command", enqueue=False).version
    started = time.perf_counter()
    outcome = training_run_execute(version_id=version.pk, worker="bench")
    version.refresh_from_db()
    if outcome != "activated":
        raise SystemExit(f"{label}: cycle {outcome}: {version.error}")
    version.wall = time.perf_counter() - started
    return version


def _annotator():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-annotator")
    return user


def _label_queue(dataset, annotator, count: int) -> None:
    """The simulated annotator: labels the queue's items in order with their reference class,
    rebuilding nothing in between (as annotators do while a run trains)."""
    from labeler.models import Label, QueueEntry, ReferenceLabel

    entries = list(
        QueueEntry.objects.filter(transaction__dataset=dataset)
        .select_related("transaction")
        .order_by("-priority", "id")[:count]
    )
    truth = dict(
        ReferenceLabel.objects.filter(
            transaction_id__in=[e.transaction_id for e in entries]
        ).values_list("transaction_id", "label_class_id")
    )
    labels = []
    for entry in entries:
        transaction = entry.transaction
        decision = (
            Label.Decision.CONFIRM
            if transaction.suggested_class_id == truth[entry.transaction_id]
            else Label.Decision.MANUAL
        )
        labels.append(
            Label(
                transaction=transaction,
                annotator=annotator,
                label_class_id=truth[entry.transaction_id],
                decision=decision,
                suggested_class_id=transaction.suggested_class_id,
                suggested_by_id=transaction.scored_by_id,
                queue_reason=entry.reason,
            )
        )
    Label.objects.bulk_create(labels)
    QueueEntry.objects.filter(pk__in=[e.pk for e in entries]).delete()


def _lease_some(queue_entry_model, annotator) -> None:
    from datetime import timedelta

    from django.utils import timezone

    held = list(queue_entry_model.objects.order_by("-priority")[:5].values_list("pk", flat=True))
    queue_entry_model.objects.filter(pk__in=held).update(
        leased_to=annotator, lease_expires_at=timezone.now() + timedelta(minutes=5)
    )


def report(results: list[dict]) -> None:
    print(
        f"\n{'case':<28}{'device':>7}{'rows':>10}{'labels':>8}{'kind':>7}"
        + "".join(f"{stage[:9]:>10}" for stage in STAGES)
        + f"{'total':>9}{'rows/s scored':>15}{'weak only':>10}{'x weak':>8}"
    )
    for result in results:
        durations = result["durations"]
        scoring = durations.get("scoring") or float("nan")
        print(
            f"{result['case']:<28}{result.get('device', '?'):>7}{result['rows']:>10,}"
            + f"{result['labels']:>8}{result['kind']:>7}"
            + "".join(f"{durations.get(stage, 0.0):>10.2f}" for stage in STAGES)
            + f"{durations['total']:>9.1f}{result['rows'] / scoring:>15,.0f}"
            + f"{result['baseline']:>10.2f}{durations['total'] / result['baseline']:>8.1f}"
        )
    for device in sorted({r.get("device", "?") for r in results}):
        generated = sorted(
            (
                r
                for r in results
                if ":generated:" in r["case"]
                and r["case"].startswith("sqlite")
                and r.get("device", "?") == device
            ),
            key=lambda r: r["rows"],
        )
        if len(generated) > 1:
            print(f"\ngrowth (SQLite, generated, {device}): seconds per 100k rows")
            for result in generated:
                per = result["durations"]["total"] / result["rows"] * 100_000
                reading = result["durations"]["reading"] / result["rows"] * 100_000
                print(f"  {result['rows']:>10,} rows: cycle {per:6.2f} s, reading {reading:5.2f} s")
    devices = {r.get("device") for r in results}
    if len(devices) > 1:  # the same case on several devices: the ratio to the CPU run
        cpu = {r["case"]: r["durations"]["total"] for r in results if r.get("device") == "cpu"}
        for result in results:
            if result.get("device") != "cpu" and result["case"] in cpu:
                ratio = cpu[result["case"]] / result["durations"]["total"]
                print(f"{result['case']}: {result['device']} cycle is {ratio:.2f}x the CPU one")
    print(
        "\ntargets: cycle at 285k rows <= 60 s; reading <= 3 s; scoring >= 200,000 rows/s; "
        "linear growth"
    )


def case_in_child(script: str, case: str, label: str, environment=None) -> dict | None:
    """`script --child case` in a process of its own (Django binds its database at start-up):
    the JSON its last line prints, or None (the failure printed)."""
    output = subprocess.run(
        [sys.executable, script, "--child", case],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    if output.returncode != 0:
        print(f"{label}: failed\n{output.stderr[-3000:]}")
        return None
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", help="database:source[:rows]; repeatable")
    parser.add_argument(
        "--device", action="append", help="TRAINING_DEVICE for the workers (auto, cpu, cuda)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        workdir = Path(tempfile.mkdtemp(prefix="fraudloop-retrain-bench-"))
        print(json.dumps(run_case(args.child, workdir)))
        return
    results = []
    runs = [(case, device) for case in args.case or DEFAULT_CASES for device in args.device or [""]]
    for case, device in runs:
        started = time.perf_counter()
        environment = dict(os.environ, **({"TRAINING_DEVICE": device} if device else {}))
        result = case_in_child(__file__, case, f"{case} {device}", environment)
        if result is None:
            continue
        results.append(result)
        print(
            f"{case} on {result['device']}: steady-state cycle "
            f"{result['durations']['total']:.1f} s "
            f"({time.perf_counter() - started:.0f} s for the whole case)",
            flush=True,
        )
    report(results)


if __name__ == "__main__":
    main()
