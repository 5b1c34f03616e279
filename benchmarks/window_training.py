"""Training on a window: a retrain's time as the dataset doubles, with and without the window.

    python benchmarks/window_training.py                     # 45 and 90 days, a 30-day window
    python benchmarks/window_training.py --customers 500 --days 60 --window 30

Two datasets of the same simulated cards and merchants (modeling/synthetic_raw.py), one of
`--days` days and one of twice as many, share a fresh SQLite database. Each gets a cold-start
run, then a simulated annotator answers its first queue (the reference labels as the oracle),
then runs on the same labels are timed: with TrainingPolicy.window_days set to `--window` and
with it 0 (every transaction: the baseline, run in the same process), the fastest of `--repeats`
(2) each. Printed per dataset: transactions stored and learned from, each run's total and its
stages; then the ratios of the doubled dataset's run time to the first one's. Target (issue 19):
with a window the ratio stays within 0.8-1.2 (a retrain's cost flat as the dataset grows);
without one it grows with the data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

from retrain_cycle import STAGES  # noqa: E402


def timed_run(dataset, *, window_days: int) -> dict:
    """One training run of the dataset under that window, in this process."""
    from labeler.models import ModelVersion, TrainingPolicy
    from labeler.services.training import training_run_execute
    from labeler.services.training_runs import training_request

    policy = TrainingPolicy.current()
    policy.window_days = window_days
    policy.save()  # (a save is forgotten by the policy's memory)
    version = training_request(dataset=dataset, trigger="command", enqueue=False).version
    started = time.perf_counter()
    outcome = training_run_execute(version_id=version.pk, worker="window-benchmark")
    seconds = time.perf_counter() - started
    version = ModelVersion.objects.get(pk=version.pk)
    if outcome != "activated":
        raise SystemExit(f"version {version.pk} did not activate: {outcome}")
    return {
        "seconds": seconds,
        "learned_from": version.training_counts["transactions"],
        "durations": version.durations,
    }


def run_dataset(*, customers: int, days: int, window: int, answers: int, repeats: int) -> dict:
    from django.contrib.auth import get_user_model

    from labeler.models import QueueEntry
    from labeler.services.demo import demo_answers, raw_demo_import

    dataset = raw_demo_import(
        customers=customers, terminals=2 * customers, days=days, seed=0, dataset_name=f"d{days}"
    ).dataset
    QueueEntry.objects.all().delete()  # the other dataset's queue: not this annotator's
    timed_run(dataset, window_days=window)  # cold start (not compared)
    annotator, _ = get_user_model().objects.get_or_create(username="window-annotator")
    demo_answers(annotator, answers)
    return {
        "days": days,
        "stored": dataset.transactions.count(),
        "window": fastest(dataset, window_days=window, repeats=repeats),
        "all": fastest(dataset, window_days=0, repeats=repeats),
    }


def fastest(dataset, *, window_days: int, repeats: int) -> dict:
    """The fastest of `repeats` runs (a run's noise only ever adds time)."""
    runs = [timed_run(dataset, window_days=window_days) for _ in range(repeats)]
    return min(runs, key=lambda run: run["seconds"])


def report(results: list[dict], window: int) -> None:
    print(f"{'days':>5}{'stored':>9}{'run':>8}{'learned':>9}{'total s':>9}", end="")
    print("".join(f"{stage[:9]:>10}" for stage in STAGES))
    for result in results:
        for name in ("window", "all"):
            run = result[name]
            label = f"{window}d" if name == "window" else "all"
            print(
                f"{result['days']:>5}{result['stored']:>9,}{label:>8}{run['learned_from']:>9,}"
                f"{run['seconds']:>9.1f}"
                + "".join(f"{run['durations'].get(stage, 0.0):>10.2f}" for stage in STAGES)
            )
    first, doubled = results
    for name, label in (("window", f"with a {window}-day window"), ("all", "without a window")):
        ratio = doubled[name]["seconds"] / first[name]["seconds"]
        print(
            f"retrain time, {doubled['days']} days / {first['days']} days, {label}: "
            f"{ratio:.2f}" + (" (target 0.8-1.2)" if name == "window" else " (baseline)")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--days", type=int, default=45, help="the first dataset's days")
    parser.add_argument("--window", type=int, default=30)
    parser.add_argument("--answers", type=int, default=200, help="labels before the timed runs")
    parser.add_argument("--repeats", type=int, default=2, help="runs timed each; the fastest")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="fraudloop-window-"))
    os.environ.update(
        {
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "MEDIA_ROOT": str(workdir / "media"),
            "DJANGO_SETTINGS_MODULE": "labeler.settings",
            "DEBUG": "true",  # in this process only: no web server
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    results = [
        run_dataset(
            customers=args.customers,
            days=days,
            window=args.window,
            answers=args.answers,
            repeats=args.repeats,
        )
        for days in (args.days, 2 * args.days)
    ]
    print(json.dumps(results)) if args.json else report(results, args.window)


if __name__ == "__main__":
    main()
