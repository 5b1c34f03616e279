"""Ingestion: batches of arrivals posted over loopback, scored on arrival by a Celery worker.

    python benchmarks/ingest_speed.py                      # SQLite, then PostgreSQL
    python benchmarks/ingest_speed.py --case postgres --seconds 60 --batch 1000
    python benchmarks/ingest_speed.py --rate 0             # as fast as the web accepts

Each case imports simulated raw card transactions (cards, merchants, dates) into a fresh
database, trains a cold-start version and, after a simulated annotator's answers, a committee
version (in this process, not timed), then starts the deployment as production runs it (gunicorn
with 4 workers, DEBUG off, and the Procfile's Celery workers). One feeder process posts batches
of later transactions of the same cards and merchants for the given time, paced at the offered
rate (--rate, 2,000/s by default: the target; 0 posts each batch as soon as the last is
accepted, for the most the web takes); the worker scores each batch and queues its likely
frauds. Then the decision endpoint is asked about one transaction at a time and about 100 at
once, on the web server (sync workers: a connection per request) and on a second gunicorn as the
README runs one for an authorisation flow (threaded workers that keep the connection).

Printed: transactions accepted per second (the feeder's posts) and scored per second (until
the worker has scored every row sent) and how long after the last post the worker finished,
each batch's post p50/p95, arrival to queued p50/p95 (a queued row's time in the queue minus
its time of storing), the decision endpoint's p50/p95 for one and for 100 transactions, and
the baseline: the same rows written straight into the table (one bulk insert per batch, no
parsing, checks or scoring) in this process. Targets (2 cores, issue 19): >= 2,000
transactions/s ingested and scored on PostgreSQL, arrival to queued p95 <= 5 s, one decision
p95 <= 20 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

import load  # noqa: E402
from load import (  # noqa: E402
    case_environment,
    free_port,
    percentile,
    process_start,
    stop,
    wait_healthy,
    web_command,
)

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/fraudloop_bench_ingest"


def prepare(*, customers: int, days: int, workdir: Path) -> dict:
    """A fresh database: the raw dataset, a committee version active, the feeder's token."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections
    from rest_framework.authtoken.models import Token

    from labeler.models import TrainingPolicy
    from labeler.roles import role_group
    from labeler.services.demo import demo_answers, raw_demo_import
    from labeler.services.training import training_run_execute
    from labeler.services.training_runs import training_request

    call_command("migrate", verbosity=0)
    dataset = raw_demo_import(
        customers=customers, terminals=2 * customers, days=days, seed=0, dataset_name="ingest"
    ).dataset
    users = get_user_model()
    annotator = users.objects.create_user("ingest-annotator")
    for _ in range(2):
        version = training_request(dataset=dataset, trigger="command", enqueue=False).version
        if training_run_execute(version_id=version.pk, worker="ingest-setup") != "activated":
            raise SystemExit("a setup version did not activate")
        demo_answers(annotator, 200)  # a simulated annotator: the reference class
    version = training_request(dataset=dataset, trigger="command", enqueue=False).version
    if training_run_execute(version_id=version.pk, worker="ingest-setup") != "activated":
        raise SystemExit("the committee version did not activate")
    version.refresh_from_db()
    # No cap on the arrivals waiting (the policy's queue size, kept past training): the cap
    # would take out the earlier ones, and their time to the queue with them.
    policy = TrainingPolicy.current()
    policy.queue_size = 1_000_000
    policy.save()
    feeder = users.objects.create_user("ingest-feeder")
    feeder.groups.add(role_group("ingest"))
    prepared = {
        "dataset": dataset.pk,
        "version": version.pk,
        "kind": version.kind,
        "token": Token.objects.create(user=feeder).key,
        "last_time": max(dataset.transactions.values_list("time", flat=True)),
    }
    connections.close_all()
    return prepared


def arrivals(*, customers: int, days: int, rows: int) -> list[dict]:
    """Later transactions of the same cards and merchants: the simulation run longer, the days
    after the imported ones, repeated a day later with new ids until there are enough."""
    import pandas as pd

    from modeling.synthetic_raw import RawSimulationConfig, raw_transactions_simulate

    frame = raw_transactions_simulate(
        RawSimulationConfig(customers=customers, terminals=2 * customers, days=days + 7, seed=1)
    ).frame
    first_day = pd.Timestamp("2026-01-05", tz="UTC") + pd.Timedelta(days=days)
    stamps = pd.to_datetime(frame["timestamp"], utc=True)
    later = frame[stamps >= first_day].drop(columns=["is_fraud"]).reset_index(drop=True)
    later_stamps = pd.to_datetime(later["timestamp"], utc=True)
    span = (later_stamps.max() - first_day).ceil("D")
    parts, round_ = [], 0
    while sum(len(part) for part in parts) < rows:
        part = later.copy()
        part["timestamp"] = (later_stamps + round_ * span).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        part["transaction_id"] = [f"live{round_}-{i}" for i in range(len(part))]
        parts.append(part)
        round_ += 1
    return pd.concat(parts).head(rows).to_dict(orient="records")


def feed(
    base: str, prepared: dict, rows: list[dict], *, batch: int, seconds: float, rate: float
) -> dict:
    """Posts batches until the time is up or the rows run out: one after another (rate 0), or
    paced at `rate` transactions per second (batch k is sent at k * batch / rate seconds, or at
    once when the posts have fallen behind)."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {prepared['token']}"
    url = f"{base}/api/v1/datasets/{prepared['dataset']}/transactions/"
    posts, statuses, accepted = [], {}, 0
    begun = time.perf_counter()
    for start in range(0, len(rows), batch):
        if time.perf_counter() - begun >= seconds:
            break
        if rate:
            time.sleep(max(0.0, begun + start / rate - time.perf_counter()))
        body = json.dumps(rows[start : start + batch])
        sent = time.perf_counter()
        reply = session.post(
            url, data=body, headers={"Content-Type": "application/json"}, timeout=120
        )
        posts.append(time.perf_counter() - sent)
        statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
        if reply.status_code == 201:
            accepted += reply.json()["added"]
        else:
            print(f"  batch at row {start}: {reply.status_code} {reply.text[:300]}", flush=True)
    return {
        "posts": posts,
        "statuses": statuses,
        "accepted": accepted,
        "elapsed": time.perf_counter() - begun,
    }


def scored_by_then(prepared: dict, *, accepted: int, timeout: float = 900.0) -> float:
    """Waits until the worker has scored every row sent; the moment it saw them all."""
    from django.db import connections

    from labeler.models import Transaction

    sent = Transaction.objects.filter(
        dataset_id=prepared["dataset"], import_batch__source="arrivals"
    )
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if sent.filter(scored_by__isnull=False).count() >= accepted:
            connections.close_all()
            return time.perf_counter()
        time.sleep(0.25)
    raise SystemExit(f"the worker had not scored the {accepted:,} rows sent in {timeout:.0f} s")


def arrival_to_queue() -> list[float]:
    from labeler.models import QueueEntry

    return [
        (created - imported).total_seconds()
        for created, imported in QueueEntry.objects.filter(reason="arrival").values_list(
            "created_at", "transaction__imported_at"
        )
    ]


def decisions(base: str, prepared: dict, rows: list[dict]) -> dict:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {prepared['token']}"
    url = f"{base}/api/v1/datasets/{prepared['dataset']}/score/"
    headers = {"Content-Type": "application/json"}
    for warm in range(8):  # every gunicorn worker reads the model file once
        session.post(url, data=json.dumps(rows[warm : warm + 1]), headers=headers, timeout=120)
    timings: dict[str, list[float]] = {"one": [], "hundred": []}
    for index in range(300):
        sent = time.perf_counter()
        reply = session.post(
            url, data=json.dumps(rows[index : index + 1]), headers=headers, timeout=60
        )
        timings["one"].append(time.perf_counter() - sent)
        reply.raise_for_status()
    for index in range(30):
        sent = time.perf_counter()
        reply = session.post(
            url, data=json.dumps(rows[index * 100 : index * 100 + 100]), headers=headers, timeout=60
        )
        timings["hundred"].append(time.perf_counter() - sent)
        reply.raise_for_status()
    return timings


def bare_write(rows: list[dict], *, batch: int, workdir: Path) -> float:
    """Seconds to write the same rows straight into the table (parsed once beforehand; one bulk
    insert per batch), into a scratch dataset, removed afterwards."""
    import numpy as np
    from django.db import connections, transaction
    from django.utils import timezone

    from labeler.models import Dataset, ImportBatch, Transaction
    from labeler.services.bulk_insert import columns_insert
    from labeler.services.ingesting import batch_table

    dataset = Dataset.objects.get(name="ingest")
    tables = [
        batch_table(dataset, json.dumps(rows[start : start + batch]).encode(), "json")
        for start in range(0, len(rows), batch)
    ]
    scratch = Dataset.objects.create(name="ingest-bare-write")
    begun = time.perf_counter()
    for number, table in enumerate(tables):
        with transaction.atomic():
            written = ImportBatch.objects.create(
                dataset=scratch,
                file_name="bare",
                checksum=f"bare-{number}",
                row_count=table.row_count,
                label_mode="ignore",
            )
            columns_insert(
                Transaction,
                {
                    "dataset": scratch.pk,
                    "import_batch": written.pk,
                    "external_id": table.external_ids,
                    "time": table.time,
                    "amount": table.amount,
                    "features": np.ascontiguousarray(table.features, dtype="<f4"),
                    "imported_at": timezone.now(),
                    "audit_number": np.full(table.row_count, np.nan),
                    "card_key": table.card_keys.tolist(),
                    "merchant_key": table.merchant_keys.tolist(),
                    "attributes": table.attributes,
                },
                rows=table.row_count,
            )
    seconds = time.perf_counter() - begun
    connections.close_all()
    return seconds


def run_case(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="fraudloop-ingest-"))
    env = case_environment(args.case, args.postgres_url, workdir)
    started = time.perf_counter()
    prepared = prepare(customers=args.customers, days=args.days, workdir=workdir)
    rows = arrivals(customers=args.customers, days=args.days, rows=args.rows)
    setup_s = time.perf_counter() - started
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = workdir / "logs"
    processes = load.start(env, port, args.workers, logs, beat=False)
    try:
        wait_healthy(base, processes, logs)
        fed = feed(base, prepared, rows, batch=args.batch, seconds=args.seconds, rate=args.rate)
        feed_ended = time.perf_counter()
        feed_begun = feed_ended - fed["elapsed"]
        all_scored = scored_by_then(prepared, accepted=fed["accepted"])
        asked = decisions(base, prepared, rows[-3000:])
        # The README's server for an authorisation flow: its own gunicorn, connections kept.
        flow_port = free_port()
        flow = process_start(
            web_command(flow_port, 2, keep_alive=True), env, logs / "decisions.log"
        )
        processes.append(flow)
        flow_base = f"http://127.0.0.1:{flow_port}"
        wait_healthy(flow_base, [flow], logs)
        asked_kept = decisions(flow_base, prepared, rows[-3000:])
    finally:
        stop(processes)
    queued = arrival_to_queue()
    sent = fed["accepted"]
    bare = bare_write(rows[:sent], batch=args.batch, workdir=workdir)
    return {
        "case": args.case,
        "version_kind": prepared["kind"],
        "setup_s": setup_s,
        "batch": args.batch,
        "accepted": sent,
        "statuses": fed["statuses"],
        "accepted_per_s": sent / fed["elapsed"],
        "rate": args.rate,
        "scored_per_s": sent / (all_scored - feed_begun),
        "drain_s": all_scored - feed_ended,
        "post_p50_ms": 1000 * percentile(fed["posts"], 0.5),
        "post_p95_ms": 1000 * percentile(fed["posts"], 0.95),
        "queued": len(queued),
        "queued_p50_s": percentile(queued, 0.5),
        "queued_p95_s": percentile(queued, 0.95),
        "decision_one_p50_ms": 1000 * percentile(asked["one"], 0.5),
        "decision_one_p95_ms": 1000 * percentile(asked["one"], 0.95),
        "decision_100_p50_ms": 1000 * percentile(asked["hundred"], 0.5),
        "decision_100_p95_ms": 1000 * percentile(asked["hundred"], 0.95),
        "kept_one_p50_ms": 1000 * percentile(asked_kept["one"], 0.5),
        "kept_one_p95_ms": 1000 * percentile(asked_kept["one"], 0.95),
        "kept_100_p50_ms": 1000 * percentile(asked_kept["hundred"], 0.5),
        "kept_100_p95_ms": 1000 * percentile(asked_kept["hundred"], 0.95),
        "bare_write_per_s": sent / bare if bare else 0.0,
        "logs": str(logs),
    }


def report(result: dict) -> None:
    paced = f"paced at {result['rate']:,.0f}/s" if result["rate"] else "as fast as accepted"
    print(
        f"\n{result['case']}: {result['accepted']:,} transactions in batches of "
        f"{result['batch']:,}, {paced} (statuses {result['statuses']}), active version "
        f"{result['version_kind']}, setup {result['setup_s']:.0f} s"
    )
    print(
        f"  accepted {result['accepted_per_s']:,.0f}/s, scored {result['scored_per_s']:,.0f}/s "
        f"(bare write of the same rows {result['bare_write_per_s']:,.0f}/s: ratio scored/bare "
        f"{result['scored_per_s'] / max(result['bare_write_per_s'], 1e-9):.2f}); the worker "
        f"finished {result['drain_s']:.1f} s after the last post"
    )
    print(f"  batch post p50 {result['post_p50_ms']:.0f} ms, p95 {result['post_p95_ms']:.0f} ms")
    print(
        f"  arrival -> queued ({result['queued']} queued) p50 {result['queued_p50_s']:.2f} s, "
        f"p95 {result['queued_p95_s']:.2f} s"
    )
    for label, key in (
        ("the web server (a connection per request)", "decision"),
        ("a decisions server (connections kept)", "kept"),
    ):
        print(
            f"  decision on {label}: one transaction p50 {result[f'{key}_one_p50_ms']:.1f} ms, "
            f"p95 {result[f'{key}_one_p95_ms']:.1f} ms; 100 at once p50 "
            f"{result[f'{key}_100_p50_ms']:.0f} ms, p95 {result[f'{key}_100_p95_ms']:.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rows", type=int, default=200_000, help="arrivals prepared at most")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--rate",
        type=float,
        default=2000.0,
        help="transactions per second offered (0: each batch as soon as the last is accepted)",
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cases = args.case or ["sqlite", "postgres"]
    for case in cases:
        # Django binds its database at start-up: each case runs in a process of its own.
        if len(cases) > 1:
            import subprocess

            command = [sys.executable, __file__, "--case", case]
            for name in ("customers", "days", "rows", "batch", "seconds", "rate", "workers"):
                command += [f"--{name}", str(getattr(args, name))]
            command += ["--postgres-url", args.postgres_url]
            subprocess.run(command, check=True)
            continue
        args.case = case
        result = run_case(args)
        print(json.dumps(result)) if args.json else report(result)


if __name__ == "__main__":
    main()
