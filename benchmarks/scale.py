"""Scale: a full training cycle on PostgreSQL at growing sizes, its scoring shared out among
light worker processes.

    python benchmarks/scale.py                                   # 1M rows; 0, 1, 2 workers
    python benchmarks/scale.py --rows 1000000 --rows 10000000 --workers 0 --workers 2 --workers 4
    python benchmarks/scale.py --rows 10000000 --workers 2 --probe    # + answers' seconds

Per case (rows, workers), in a process of its own on a fresh PostgreSQL database: generated data
(the reference file's shape, written once per size into DATA_CACHE) imported (timed), a
cold-start cycle, a simulated annotator's 200 labels, then the timed committee cycle, this
process being the training worker. `workers` 0 scores the shards in the training process
(TRAINING_SCORING_ON_WORKERS=false, the laptop); N > 0 starts N light Celery workers (solo pool,
one process each, Redis broker) that take the shards while the training process waits. Prints
the import time, each stage's seconds, scoring rows/s (rows / the scoring stage), peak resident
memory of the training process and of the largest light worker, the scoring throughput against 1
worker of the same size and thread limit (the baseline, run in the same invocation), the shards'
wall clock and CPU seconds per part, and per-row cost growth from the smallest size to the
largest. --probe: an annotator (answer_probe.py) answers the queue from scoring's end to the
switch of the timed cycle, and each answer's seconds are printed by the stage it overlapped (the
queue holds 1,000 items then, not 200).
Targets (issue 20): 10M rows cycle <= 10 min, peak RSS per worker <= 2 GB, cost per row flat
from 1M to 10M, scoring with 2 workers >= 1.6x one.
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

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/fraudloop_scale"
# Generated files kept between cases and runs (seeded: the same rows every time); 10M rows take
# 8 minutes to write and 1.4 GB.
DATA_CACHE = Path(tempfile.gettempdir()) / "fraudloop-scale-data"
IMPORT_LIMIT = str(64 * 1024**3)  # 10M rows unpack to about 3 GiB of text
BROKER_URL = "redis://127.0.0.1:6379/12"
SHOWN_STAGES = ["reading", "anomaly", "weak", "sgan", "trees", "scoring", "queueing", "activating"]


def peak_mib(pid: int | str = "self") -> float:
    """A process's peak resident memory (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cached_file(rows: int) -> Path:
    """The generated file of `rows` rows, written once into DATA_CACHE."""
    from import_speed import generated_file

    path = DATA_CACHE / f"generated-{rows}.csv.gz"
    if not path.exists():
        DATA_CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=DATA_CACHE) as partial:
            os.replace(generated_file(Path(partial), rows), path)
    return path


def run_case(rows: int, workers: int, workdir: Path, probe: bool = False) -> dict:
    from import_speed import fresh_postgres_database

    fresh_postgres_database(POSTGRES_URL)
    os.environ.update(
        IMPORT_MAX_TEXT_BYTES=IMPORT_LIMIT,
        DATABASE_URL=POSTGRES_URL,
        MEDIA_ROOT=str(workdir / "media"),
        CELERY_BROKER_URL=BROKER_URL,
        TRAINING_SCORING_ON_WORKERS="true" if workers else "false",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from retrain_cycle import _annotator, _label_queue, timed_cycle

    from labeler.models import Dataset, TrainingPolicy
    from labeler.services.importing import transactions_import

    call_command("migrate", verbosity=0)
    path = cached_file(rows)
    started = time.perf_counter()
    transactions_import(path=path, dataset_name="scale", label_mode="reference")
    import_seconds = time.perf_counter() - started
    Path("/proc/self/clear_refs").write_text("5")  # the peak from here on: training's, not import's
    dataset = Dataset.objects.get(name="scale")
    policy = TrainingPolicy.current()
    # With the probe, items left for it to answer once the 200 are labeled.
    policy.queue_size = 1000 if probe else 200
    policy.save()
    redis.Redis.from_url(BROKER_URL).flushdb()
    pool = [_light_worker(index, dict(os.environ)) for index in range(workers)]
    try:
        timed_cycle(dataset, f"{rows} rows")
        _label_queue(dataset, _annotator(), 200)
        if probe:
            pool.append(_answer_probe(workdir))
        version = timed_cycle(dataset, f"{rows} rows")
        worker_peaks = [peak_mib(worker.pid) for worker in pool[:workers]]
    finally:
        (workdir / "stop").touch()  # the probe writes its answers and ends
        for worker in pool[:workers]:
            worker.terminate()
        for process in pool:
            process.wait(timeout=60)
    return {
        "rows": rows,
        "workers": workers,
        "import": import_seconds,
        "durations": version.durations,
        "wall": version.wall,
        "shards": version.training_counts.get("scoring_shards"),
        "parts": version.metrics.get("scoring_parts", {}),
        "trainer_peak_mib": peak_mib(),
        "worker_peak_mib": max(worker_peaks, default=float("nan")),
        "answers": json.loads((workdir / "answers.json").read_text()) if probe else [],
    }


PROBE = str(PROJECT / "benchmarks" / "answer_probe.py")


def _answer_probe(workdir: Path) -> subprocess.Popen:
    """answer_probe.py: an annotator answering from scoring's end to the switch."""
    command = [sys.executable, PROBE, str(workdir / "stop"), str(workdir / "answers.json")]
    return subprocess.Popen(command, cwd=PROJECT, env=dict(os.environ))


def _light_worker(index: int, environment: dict) -> subprocess.Popen:
    """One light worker process (solo pool: its tasks run in the process we measure)."""
    command = [sys.executable, "-m", "celery", "-A", "labeler", "worker", "--pool=solo"]
    command += ["--queues=celery", f"--hostname=light{index}@%h", "--loglevel=WARNING"]
    command += ["--without-gossip", "--without-mingle"]
    return subprocess.Popen(command, cwd=PROJECT, env=environment)


def report(results: list[dict]) -> None:
    print(
        f"\n{'rows':>11}{'workers':>8}{'threads':>8}{'shards':>7}{'import':>8}"
        + "".join(f"{stage[:9]:>10}" for stage in SHOWN_STAGES)
        + f"{'cycle':>8}{'rows/s scored':>15}{'x 1 worker':>11}{'trainer MiB':>12}"
        + f"{'worker MiB':>11}"
    )
    # The baseline: one light worker, same size and thread limit.
    single = {
        (r["rows"], r["threads"]): r["durations"]["scoring"] for r in results if r["workers"] == 1
    }
    for r in results:
        durations, scoring = r["durations"], r["durations"]["scoring"]
        ratio = single.get((r["rows"], r["threads"]), float("nan")) / scoring
        print(
            f"{r['rows']:>11,}{r['workers']:>8}{r['threads'] or '-':>8}{r['shards']:>7}"
            + f"{r['import']:>8.1f}"
            + "".join(f"{durations.get(stage, 0.0):>10.1f}" for stage in SHOWN_STAGES)
            + f"{durations['total']:>8.1f}{r['rows'] / scoring:>15,.0f}{ratio:>11.2f}"
            + f"{r['trainer_peak_mib']:>12,.0f}{r['worker_peak_mib']:>11,.0f}"
        )
    parts_report(results)
    answers_report(results)
    sizes = sorted({r["rows"] for r in results})
    if len(sizes) > 1:
        print("\ncost per 100k rows (seconds), smallest size to largest:")
        for workers, threads in sorted({(r["workers"], r["threads"]) for r in results}):
            same = sorted(
                (r for r in results if (r["workers"], r["threads"]) == (workers, threads)),
                key=lambda r: r["rows"],
            )
            costs = [r["durations"]["total"] / r["rows"] * 100_000 for r in same]
            shown = ", ".join(f"{r['rows']:,}: {c:.2f}" for r, c in zip(same, costs, strict=True))
            print(
                f"  {workers} workers, threads {threads or 'default'}: {shown} "
                f"(growth x{costs[-1] / costs[0]:.2f})"
            )


def parts_report(results: list[dict]) -> None:
    """Where the shards' time went, summed over a case's shards: wall clock / CPU seconds of
    the scoring process(es) per part (CPU well below wall: waiting for the database or for a
    core)."""
    parts = ["read", "derived", "model", "stage", "select"]
    print(
        f"\nshards' seconds, wall / cpu\n{'rows':>11}{'workers':>8}{'threads':>8}"
        + "".join(f"{part:>14}" for part in parts)
    )
    for r in results:
        wall = [r["parts"].get(f"seconds_{part}", 0.0) for part in parts]
        cpu = [r["parts"].get(f"cpu_{part}", 0.0) for part in parts]
        print(
            f"{r['rows']:>11,}{r['workers']:>8}{r['threads'] or '-':>8}"
            + "".join(f"{w:>7.1f}/{c:<6.1f}" for w, c in zip(wall, cpu, strict=True))
        )


def answers_report(results: list[dict]) -> None:
    """The probe's answers by the stage they overlapped: count, median and longest seconds."""
    if not any(r["answers"] for r in results):
        return
    print(f"\nanswers during the cycle (--probe), seconds\n{'rows':>11}{'workers':>8}  stage")
    for r in results:
        for stage in sorted({s for answer in r["answers"] for s in answer["stages"]}):
            seconds = sorted(a["seconds"] for a in r["answers"] if stage in a["stages"])
            print(
                f"{r['rows']:>11,}{r['workers']:>8}  {stage}: {len(seconds)} answers, "
                f"median {seconds[len(seconds) // 2]:.3f}, longest {seconds[-1]:.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="rows per case; repeatable")
    parser.add_argument("--workers", type=int, action="append", help="light worker processes")
    parser.add_argument(
        "--shard-rows", type=int, help="TRAINING_SCORING_SHARD_ROWS (default: the setting's)"
    )
    parser.add_argument(
        "--threads", type=int, action="append", help="TRAINING_SCORING_THREADS; repeatable"
    )
    parser.add_argument(
        "--probe",
        action="store_true",
        help="an annotator answers from scoring's end to the switch (answer_probe.py); its "
        "answers' seconds by stage are printed",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from retrain_cycle import case_in_child

    if args.child:
        rows, workers, probe = (int(part) for part in args.child.split(":"))
        with tempfile.TemporaryDirectory(prefix="fraudloop-scale-") as workdir:
            print(json.dumps(run_case(rows, workers, Path(workdir), probe=bool(probe))))
        return
    results = []
    cases = [
        (rows, workers, threads)
        for rows in args.rows or [1_000_000]
        for workers in args.workers or [0, 1, 2]
        # The thread limit is the light workers': in-process scoring runs once.
        for threads in (args.threads or [None] if workers else [None])
    ]
    for rows, workers, threads in cases:
        started = time.perf_counter()
        environment = dict(os.environ)
        if args.shard_rows:
            environment["TRAINING_SCORING_SHARD_ROWS"] = str(args.shard_rows)
        if threads is not None:
            environment["TRAINING_SCORING_THREADS"] = str(threads)
        label = f"{rows} rows, {workers} workers, threads {threads or 'default'}"
        child = f"{rows}:{workers}:{int(args.probe)}"
        result = case_in_child(__file__, child, label, environment)
        if result is None:
            continue
        results.append({**result, "threads": threads or 0})
        print(
            f"{label}: cycle {result['durations']['total']:.1f} s "
            f"({time.perf_counter() - started:.0f} s for the whole case)",
            flush=True,
        )
    report(results)


if __name__ == "__main__":
    main()
