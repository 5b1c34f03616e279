"""Load: twenty annotators on gunicorn, a retrain mid-way, and every acknowledged answer checked.

    python benchmarks/load.py                                   # SQLite, then PostgreSQL
    python benchmarks/load.py --case postgres --rows 1000000 --seconds 120
    python benchmarks/load.py --case sqlite --rows 3000 --seconds 10 --annotators 6 --json

Each case imports generated rows into a fresh database, trains a first version (in this
process, not timed) and starts the deployment as production runs it: gunicorn (4 sync workers,
DEBUG off), a Celery worker and beat. Then annotators sign in over loopback, half on the page
and half on the API (benchmarks/load_clients.py says what each does: double presses, skips,
undos, retried keys, answers for items another annotator holds), and answer as fast as the
server lets them. At 15% of the run a staff token starts a retrain through the API; the
worker trains, scores and activates while the answers go on. `/healthz` is probed all along.

Printed: answers acknowledged against labels stored (lost: acknowledged, not stored; extra:
stored, never acknowledged; duplicated: two labels for one request, or two active labels by one
annotator on one item; two annotators on one item without a second opinion), 5xx, answers/s,
answer p50 / p95 / p99 beside the `/healthz` p95 of the same run (the baseline: a request that
does no work but one query), and the longest answer while the retrain ran. Targets (2 cores,
20 annotators): 0 lost / duplicated / 5xx, >= 100 answers/s on PostgreSQL, answer p95 <= 3 x
healthz p95, longest answer during the retrain <= 1 s.

The workers run at the deployment's WORKER_NICENESS (10 unless set). Where Linux has autogroups
their sessions' groups are niced too (labeler/services/niceness.py), so while twenty annotators
saturate the machine the retrain gets only a few percent of the CPU and may not end before they
have answered the whole queue: `WORKER_NICENESS=0` gives the trainer its fair share instead, for
a retrain that activates under full load.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/fraudloop_bench_load"
BIN = Path(sys.executable).parent
PASSWORD = "load-pass-0123"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def deployment_env(workdir: Path, url: str) -> dict[str, str]:
    """Production settings on plain loopback HTTP: DEBUG off, a fresh key, no TLS redirect."""
    return {
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(workdir / "media"),
        "CELERY_BROKER_DIR": str(workdir / "broker"),
        "CELERY_RESULT_BACKEND": f"file://{workdir / 'results'}",
        "DJANGO_SETTINGS_MODULE": "labeler.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }


def prepare(*, rows: int, annotators: int, queue_size: int, workdir: Path) -> dict:
    """A fresh database with the rows, the users and a first active version."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections
    from import_speed import generated_file
    from rest_framework.authtoken.models import Token

    from labeler.models import Dataset, LabelClass, TrainingPolicy
    from labeler.roles import role_group
    from labeler.services.importing import transactions_import
    from labeler.services.training import training_run_execute
    from labeler.services.training_runs import training_request

    call_command("migrate", verbosity=0)
    transactions_import(path=generated_file(workdir, rows), dataset_name="load")
    policy = TrainingPolicy.current()
    policy.queue_size = queue_size
    policy.retrain_on_labels = False  # the one retrain of the run is the one started mid-way
    policy.save()
    users = get_user_model()
    names = [f"annotator{index:02d}" for index in range(annotators)]
    tokens = {}
    for name in names:
        user = users.objects.create_user(name, password=PASSWORD)
        user.groups.add(role_group("annotator"))
        tokens[name] = Token.objects.create(user=user).key
    staff = users.objects.create_superuser("load-staff", password=PASSWORD)
    dataset = Dataset.objects.get(name="load")
    version = training_request(dataset=dataset, trigger="command", enqueue=False).version
    if training_run_execute(version_id=version.pk, worker="load-setup") != "activated":
        raise SystemExit("the first version did not activate")
    classes = {c.name: c.pk for c in LabelClass.objects.all()}
    prepared = {
        "dataset": dataset.pk,
        "names": names,
        "tokens": tokens,
        "staff_token": Token.objects.create(user=staff).key,
        "classes": classes,
        "first_version": version.pk,
    }
    connections.close_all()
    return prepared


def case_environment(case: str, postgres_url: str, workdir: Path) -> dict[str, str]:
    """A fresh database for the case (PostgreSQL dropped and made again, or a new SQLite file
    in `workdir`), and this process's environment set to production's settings on it."""
    url = postgres_url if case == "postgres" else f"sqlite:///{workdir / 'db.sqlite3'}"
    if case == "postgres":
        from import_speed import fresh_postgres_database

        fresh_postgres_database(url)
    env = deployment_env(workdir, url)
    os.environ.update(env)
    return env


# The server's own record of each request: when it ended (the log's clock, to the second), what
# it was and how long the worker took (microseconds), to set beside what the clients measured.
ACCESS_FORMAT = '%(t)s "%(m)s %(U)s" %(s)s %(D)s'
ACCESS_LINE = re.compile(r'^\[([^\]]+)\] "(\S+) (\S+)" (\d{3}) (\d+)$')
ANSWER_PATHS = ("/annotate/answer/", "/api/v1/labels/")


def web_command(
    port: int, workers: int, *, keep_alive: bool = False, access_log: Path | None = None
) -> list[str]:
    """gunicorn as production runs it: sync workers, one request at a time, a connection per
    request. `keep_alive`: threaded workers that keep a client's connection open between its
    requests (the README's separate server for an authorisation flow's decisions).
    `access_log`: where each request's duration on the server is written."""
    command = [
        str(BIN / "gunicorn"),
        "labeler.wsgi:application",
        f"--workers={workers}",
        f"--bind=127.0.0.1:{port}",
        "--timeout=30",
    ]
    if access_log is not None:
        command += [f"--access-logfile={access_log}", f"--access-logformat={ACCESS_FORMAT}"]
    if keep_alive:
        command += ["--worker-class=gthread", "--threads=1", "--keep-alive=5"]
    return command


def process_start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        command,
        cwd=PROJECT,
        env={**os.environ, **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _celery_worker(name: str, *options: str) -> list[str]:
    command = [str(BIN / "celery"), "-A", "labeler", "worker", "--loglevel=WARNING"]
    return [*command, *options, f"--hostname={name}@%h"]


def start(
    env: dict[str, str], port: int, workers: int, logs: Path, *, beat: bool = True
) -> list[subprocess.Popen]:
    """gunicorn, the Procfile's Celery workers (light tasks; training in a solo pool) and beat,
    like production."""
    commands = {
        "web": web_command(port, workers, access_log=logs / "access.log"),
        "worker": _celery_worker("worker", "--concurrency=2", "--queues=celery"),
        "trainer": _celery_worker("trainer", "--pool=solo", "--queues=training"),
        "beat": [str(BIN / "celery"), "-A", "labeler", "beat", "--loglevel=WARNING"],
    }
    if not beat:
        del commands["beat"]
    return [process_start(command, env, logs / f"{name}.log") for name, command in commands.items()]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_healthy(base: str, processes: list[subprocess.Popen], logs: Path) -> None:
    import requests

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise SystemExit(f"{process.args[0]} exited; see {logs}")
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still starting up
            pass
        time.sleep(0.5)
    raise SystemExit(f"the deployment did not become healthy in 180 s; see {logs}")


def retrain(base: str, prepared: dict, window: dict, deadline) -> None:
    """Starts a run through the API and follows it until it is active and its score copy done
    (or it fails); the answering goes on meanwhile and 5 s beyond."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {prepared['staff_token']}"
    url = f"{base}/api/v1/datasets/{prepared['dataset']}/training/"
    deadline.hold()
    window["started"] = time.perf_counter()
    try:
        started = session.post(url, timeout=30)
        started.raise_for_status()
        version = started.json()["version"]
        give_up = time.perf_counter() + 1800
        while time.perf_counter() < give_up:
            reply = session.get(f"{base}/api/v1/model-versions/{version}/", timeout=30)
            reply.raise_for_status()
            state = reply.json()
            window.setdefault("stages", {}).setdefault(state["stage"], time.perf_counter())
            if state["status"] == "active" and "ended" not in window:
                window.update(ended=time.perf_counter(), status="active")
            # The stage times are written once the copy of every row's score is done.
            if state["status"] == "failed" or "activating" in (state["durations"] or {}):
                window.update(
                    copied=time.perf_counter(),
                    status=state["status"],
                    error=state["error"],
                    durations=state["durations"],
                )
                window.setdefault("ended", window["copied"])
                return
            time.sleep(0.2)
        window.update(ended=time.perf_counter(), status="not finished")
    except requests.RequestException as error:
        window.update(ended=time.perf_counter(), status="not started", error=str(error))
    finally:
        deadline.release(after=5)


def drive(base: str, prepared: dict, *, seconds: float, retrain_at: float, seed: int) -> dict:
    from load_clients import ApiAnnotator, Deadline, Held, Ledger, PageAnnotator, health_probe

    ledger, held = Ledger(), Held()
    clients = []
    for index, name in enumerate(prepared["names"]):
        common = {"base": base, "username": name, "ledger": ledger, "held": held}
        if index % 2 == 0:
            client = PageAnnotator(
                password=PASSWORD, classes=prepared["classes"], seed=seed + index, **common
            )
        else:
            client = ApiAnnotator(
                token=prepared["tokens"][name],
                classes=prepared["classes"],
                seed=seed + index,
                **common,
            )
        clients.append(client)
    begun = time.perf_counter()
    deadline = Deadline(begun + seconds)
    threads = [threading.Thread(target=c.run, args=(deadline,), daemon=True) for c in clients]
    threads.append(threading.Thread(target=health_probe, args=(base, ledger, deadline)))
    window: dict = {}
    trigger = threading.Thread(
        target=lambda: (
            time.sleep(seconds * retrain_at),
            retrain(base, prepared, window, deadline),
        ),
        daemon=True,
    )
    for thread in threads:
        thread.start()
    if retrain_at > 0:
        trigger.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begun  # the answering; the retrain may still be finishing
    if retrain_at > 0:
        trigger.join()
    return {"ledger": ledger, "window": window, "elapsed": elapsed}


def stored_counts(ledger, names: list[str]) -> dict:
    """What the database holds against what the clients were told."""
    from django.db.models import Count, Q

    from labeler.models import Label, QueueEntry

    labels = Label.objects.filter(annotator__username__in=names)
    stored = {
        (username, token): (transaction_id, status)
        for username, token, transaction_id, status in labels.values_list(
            "annotator__username", "request_token", "transaction_id", "status"
        )
    }
    acknowledged = ledger.acknowledged
    lost = [key for key in acknowledged if key not in stored]
    wrongly_active = [
        key for key in ledger.undone if stored.get(key, (0, "superseded"))[1] == "active"
    ]
    superseded_unasked = [
        key
        for key in acknowledged
        if key not in ledger.undone and stored.get(key, (0, ""))[1] not in ("active", "")
    ]
    extra = [key for key in stored if key not in acknowledged]
    per_request = labels.values("annotator", "request_token").annotate(n=Count("id"))
    twice_active = (
        labels.filter(status=Label.Status.ACTIVE)
        .values("annotator", "transaction")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    two_annotators = (
        Label.objects.filter(status=Label.Status.ACTIVE, annotator__isnull=False)
        .values("transaction")
        .annotate(
            people=Count("annotator", distinct=True),
            asked=Count("id", filter=Q(queue_reason=QueueEntry.Reason.SECOND_OPINION)),
        )
        .filter(people__gt=1, asked=0)
        .count()
    )
    return {
        "acknowledged": len(acknowledged),
        "stored": len(stored),
        "undone": len(ledger.undone),
        "lost": len(lost),
        "extra": len(extra),
        "duplicated": per_request.filter(n__gt=1).count() + twice_active,
        "undo_not_applied": len(wrongly_active),
        "superseded_unasked": len(superseded_unasked),
        "two_annotators_unasked": two_annotators,
        "examples_lost": [list(key) for key in lost[:5]],
        "examples_extra": [list(key) for key in extra[:5]],
    }


class CollectionPauses:
    """This process's garbage collections that took `at_least` seconds or more: each one stops
    every client thread, so an answer the clients timed across one looks that much slower than
    the server made it."""

    def __init__(self, at_least: float = 0.05):
        self.at_least = at_least
        self.pauses: list[tuple[float, float, int]] = []  # (began, seconds, generation)
        self._began: float | None = None

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        elif self._began is not None:
            took = time.perf_counter() - self._began
            if took >= self.at_least:
                self.pauses.append((self._began, took, info["generation"]))


def server_answers(access_log: Path) -> list[tuple[float, float]]:
    """The answers as the server timed them, from gunicorn's access log: (when each ended,
    seconds since the epoch to the second; seconds the worker took)."""
    answers = []
    for line in access_log.read_text().splitlines() if access_log.exists() else []:
        found = ACCESS_LINE.match(line.strip())
        if found is None:
            continue
        moment, method, path, _, micros = found.groups()
        if method == "POST" and path in ANSWER_PATHS:
            ended = datetime.datetime.strptime(moment, "%d/%b/%Y:%H:%M:%S %z").timestamp()
            answers.append((ended, int(micros) / 1e6))
    return answers


def server_figures(access_log: Path, window: dict, epoch_offset: float) -> dict:
    """The server's longest answer over the run and during the retrain (the log's clock has
    whole seconds: an answer counts as during the retrain when it may have overlapped it)."""
    answers = server_answers(access_log)
    figures = {
        "server_answers": len(answers),
        "server_answer_max_ms": 1000 * max((took for _, took in answers), default=0.0),
    }
    if window:
        began = window["started"] + epoch_offset
        ended = window.get("copied", window.get("ended", window["started"])) + epoch_offset
        during = [took for at, took in answers if at + 1 >= began and at - took - 1 <= ended]
        figures["server_longest_during_retrain_ms"] = 1000 * max(during, default=0.0)
    return figures


def run_case(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="fraudloop-load-"))
    env = case_environment(args.case, args.postgres_url, workdir)
    started = time.perf_counter()
    prepared = prepare(
        rows=args.rows,
        annotators=args.annotators,
        queue_size=args.queue_size,
        workdir=workdir,
    )
    setup_s = time.perf_counter() - started
    # The first training's objects stay out of the clients' collections: a full collection of
    # that heap (700 MB at a million rows) would stop all twenty clients at once.
    gc.collect()
    if not args.no_gc_freeze:
        gc.freeze()
    pauses = CollectionPauses()
    gc.callbacks.append(pauses)
    epoch_offset = time.time() - time.perf_counter()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = workdir / "logs"
    processes = start(env, port, args.workers, logs)
    try:
        wait_healthy(base, processes, logs)
        run = drive(
            base, prepared, seconds=args.seconds, retrain_at=args.retrain_at, seed=args.seed
        )
    finally:
        stop(processes)
        gc.callbacks.remove(pauses)
    ledger, window = run["ledger"], run["window"]
    counts = stored_counts(ledger, prepared["names"])
    durations = [seconds for _, seconds, _ in ledger.answers]
    health = [seconds for _, seconds in ledger.health]
    during = [
        seconds
        for begun, seconds, _ in ledger.answers
        if window
        and begun <= window.get("copied", window.get("ended", 0))
        and begun + seconds >= window["started"]
    ]
    # From the first stage that writes what annotators see (the queue, the pseudo-labels, the
    # switch; a 0.2 s poll may miss one) to the end of the score copy.
    seen = window.get("stages") or {}
    writing = [seen[s] for s in ("queueing", "pseudo_labels", "activating", "active") if s in seen]
    activating_from = min(writing, default=None)
    activating = [
        seconds
        for begun, seconds, _ in ledger.answers
        if activating_from
        and begun <= window.get("copied", window["ended"])
        and begun + seconds >= activating_from
    ]
    server_errors = sum(n for (_, code), n in ledger.statuses.items() if code >= 500)
    new_answers = counts["acknowledged"]
    return {
        "case": args.case,
        "rows": args.rows,
        "annotators": args.annotators,
        "workers": args.workers,
        "setup_s": setup_s,
        "seconds": run["elapsed"],
        **counts,
        "server_errors": server_errors,
        "statuses": {f"{kind} {code}": n for (kind, code), n in sorted(ledger.statuses.items())},
        "refusals": dict(ledger.refusals),
        "replays_differing": ledger.replays_differing,
        "foreign_accepted": ledger.foreign_accepted,
        "answers_per_s": new_answers / run["elapsed"],
        "requests": len(durations),
        "answer_p50_ms": 1000 * percentile(durations, 0.50),
        "answer_p95_ms": 1000 * percentile(durations, 0.95),
        "answer_p99_ms": 1000 * percentile(durations, 0.99),
        "answer_max_ms": 1000 * max(durations, default=0.0),
        "healthz_p50_ms": 1000 * percentile(health, 0.50),
        "healthz_p95_ms": 1000 * percentile(health, 0.95),
        "healthz_statuses": dict(ledger.health_statuses),
        "retrain": {
            "status": window.get("status", "none"),
            "error": window.get("error", ""),
            "seconds": window.get("ended", 0) - window.get("started", 0) if window else 0,
            "copy_done_s": window.get("copied", 0) - window.get("started", 0) if window else 0,
            "activating_s": (window.get("durations") or {}).get("activating"),
            "durations": window.get("durations"),
            "answers_during": len(during),
            "longest_answer_ms": 1000 * max(during, default=0.0),
            "answers_activating": len(activating),
            "longest_activating_ms": 1000 * max(activating, default=0.0),
            # The slowest answers of the retrain: when each began (seconds after the retrain
            # was asked for), how long it took, and what it was.
            "slowest": [
                (round(begun - window["started"], 1), round(1000 * seconds), kind)
                for begun, seconds, kind in sorted(
                    ledger.answers, key=lambda answer: answer[1], reverse=True
                )[:5]
            ]
            if window
            else [],
            "stages_s": {
                stage: round(moment - window["started"], 1)
                for stage, moment in (window.get("stages") or {}).items()
            },
        },
        **server_figures(logs / "access.log", window, epoch_offset),
        "client_pauses": len(pauses.pauses),
        "client_pause_max_ms": 1000 * max((took for _, took, _ in pauses.pauses), default=0.0),
        "errors": ledger.errors[:5],
        "logs": str(logs),
    }


def report(result: dict) -> None:
    retrain = result["retrain"]
    ratio = result["answer_p95_ms"] / max(result["healthz_p95_ms"], 1e-9)
    print(
        f"\n{result['case']}: {result['rows']:,} rows, {result['annotators']} annotators, "
        f"gunicorn {result['workers']} workers, {result['seconds']:.0f} s "
        f"(setup {result['setup_s']:.0f} s)"
    )
    print(
        f"  answers acknowledged {result['acknowledged']:,}, labels stored {result['stored']:,} "
        f"(undone {result['undone']})"
    )
    print(
        f"  lost {result['lost']}, extra {result['extra']}, duplicated {result['duplicated']}, "
        f"two annotators without a second opinion {result['two_annotators_unasked']}, "
        f"undo not applied {result['undo_not_applied']}, 5xx {result['server_errors']}"
    )
    print(f"  refused as they should be: {result['refusals']}")
    print(
        f"  answers/s {result['answers_per_s']:.0f}   answer p50 {result['answer_p50_ms']:.0f} ms"
        f"  p95 {result['answer_p95_ms']:.0f} ms  p99 {result['answer_p99_ms']:.0f} ms"
        f"  max {result['answer_max_ms']:.0f} ms"
    )
    print(
        f"  healthz p50 {result['healthz_p50_ms']:.0f} ms  p95 {result['healthz_p95_ms']:.0f} ms"
        f"   answer p95 / healthz p95 = {ratio:.2f} (target <= 3)"
    )
    print(
        f"  retrain {retrain['status']} in {retrain['seconds']:.1f} s, every score copied at "
        f"{retrain['copy_done_s']:.1f} s (activating {retrain['activating_s'] or 0:.2f} s): "
        f"{retrain['answers_during']:,} answers meanwhile, "
        f"longest {retrain['longest_answer_ms']:.0f} ms (target <= 1000)"
    )
    print(
        f"  while it wrote the queue, switched and copied: {retrain['answers_activating']:,} "
        f"answers, longest "
        f"{retrain['longest_activating_ms']:.0f} ms; stages first seen at {retrain['stages_s']} s"
        f"\n  slowest answers (began at s, ms, kind): {retrain['slowest']}; the run's stage "
        f"durations: {retrain.get('durations')}"
    )
    print(
        f"  the server's own timing of {result['server_answers']:,} answers: longest "
        f"{result['server_answer_max_ms']:.0f} ms, during the retrain "
        f"{result.get('server_longest_during_retrain_ms', 0):.0f} ms; the load generator's "
        f"collections of >= 50 ms: {result['client_pauses']}, longest "
        f"{result['client_pause_max_ms']:.0f} ms"
    )
    if result["errors"]:
        print(f"  first server errors: {result['errors']}  (logs in {result['logs']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=["sqlite", "postgres"])
    parser.add_argument("--rows", type=int, default=284_807)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--queue-size", type=int, default=20_000)
    parser.add_argument(
        "--retrain-at", type=float, default=0.15, help="share of the run (0: no retrain)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--json", action="store_true", help="print each case's figures as JSON")
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="leave the first training's objects in this process's garbage collections",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    cases = args.case or ["sqlite", "postgres"]
    if args.child:
        args.case = cases[0]
        print("RESULT " + json.dumps(run_case(args)), flush=True)
        return
    for case in cases:  # one process per case: Django is set up once per process
        child = subprocess.run(
            [sys.executable, __file__, "--child", "--case", case, *_without_cases(sys.argv[1:])],
            capture_output=True,
            text=True,
        )
        lines = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
        if child.returncode != 0 or not lines:
            print(child.stdout[-3000:], child.stderr[-3000:], sep="\n")
            raise SystemExit(f"{case}: the load run failed (exit {child.returncode})")
        result = json.loads(lines[-1].removeprefix("RESULT "))
        if args.json:
            print(json.dumps(result))
        else:
            report(result)


def _without_cases(argv: list[str]) -> list[str]:
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--case":
            skip = True
        elif not arg.startswith("--case="):
            kept.append(arg)
    return kept


if __name__ == "__main__":
    main()
