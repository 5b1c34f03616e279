"""What one answer costs the server: queries and CPU per answer, on the page and on the API.

    python benchmarks/answer_cost.py                       # SQLite, then PostgreSQL
    python benchmarks/answer_cost.py --case postgres --rows 20000 --answers 300

The load run (`load.py`) gives answers per second for a deployment; this is the figure under
it. Each case imports generated rows into a fresh database, runs a cold-start training cycle for
the queue, then in this process (Django's test client: middleware, session or token
authentication, service, template or serializer; no network):

- page: an annotator answers queue items through `/annotate/answer/` as the page's script does
  (the answer, and the item after the next one rendered into the prefetch slot);
- api: an annotator leases with `POST /api/v1/queue/next/` and answers with
  `POST /api/v1/labels/` under an Idempotency-Key (both requests count as one answer).

Per answer: queries, this process's CPU milliseconds, and on PostgreSQL the database backend's
CPU milliseconds too (read from /proc for the connection's server process). The baseline, in
the same run, is `GET /healthz` (a staff user, so the full report): the ratio says how many
health checks' worth of work an answer is.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Meter:
    """Queries and CPU over a block: this process's, and the PostgreSQL backend's."""

    def __init__(self):
        from django.db import connection

        self.connection = connection
        self.backend_pid = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backend_pid = cursor.fetchone()[0]

    def _backend_cpu(self) -> float:
        if self.backend_pid is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # a database on another host: its CPU is not ours to read
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime

    def run(self, step, count: int) -> dict:
        """Runs `step` up to `count` times (until it returns False): the means per step."""
        from django.db import reset_queries
        from django.test.utils import CaptureQueriesContext

        queries, cpu, backend, wall = [], [], [], []
        for _ in range(count):
            reset_queries()  # the log keeps 9,000 queries: a full one would count none
            with CaptureQueriesContext(self.connection) as captured:
                started_cpu, started_db = time.process_time(), self._backend_cpu()
                started = time.perf_counter()
                if step() is False:
                    break
                wall.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
                backend.append(self._backend_cpu() - started_db)
            queries.append(len(captured.captured_queries))
        if not cpu:
            raise RuntimeError("nothing left to answer: the queue is too short")
        return {
            "answers": len(cpu),
            "queries": statistics.mean(queries[: len(cpu)]),
            "cpu_ms": 1000 * statistics.mean(cpu),
            "db_cpu_ms": 1000 * statistics.mean(backend),
            "wall_ms": 1000 * statistics.mean(wall),
        }

    def rounds(self, steps: dict, count: int, rounds: int) -> dict:
        """The steps in turn, `rounds` times, `count // rounds` each time, so that a slow
        stretch of the machine falls on all of them alike: per step, the median of the rounds'
        means and the answers run in all."""
        runs = {name: [] for name in steps}
        for _ in range(rounds):
            for name, step in steps.items():
                runs[name].append(self.run(step, count // rounds))
        return {
            name: {
                **{
                    figure: statistics.median(run[figure] for run in done)
                    for figure in ("queries", "cpu_ms", "db_cpu_ms", "wall_ms")
                },
                "answers": sum(run["answers"] for run in done),
            }
            for name, done in runs.items()
        }


def page_answerer(client, legit_pk: int):
    from annotate_speed import NEXT_ITEM, SUGGESTED

    body = client.get("/annotate/").content.decode()
    state = {"items": [int(v) for v in NEXT_ITEM.findall(body)[:2]]}
    state["shown"] = dict(SUGGESTED.findall(body))

    def step():
        current, following = state["items"]
        if current is None:
            return False
        data = {
            "transaction": current,
            "suggested": state["shown"].pop(str(current), ""),
            "action": f"class:{legit_pk}",
            "token": uuid.uuid4().hex,
            "showing": following,
        }
        response = client.post("/annotate/answer/", data, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, response.content[:300]
        body = response.content.decode()
        assert '<p class="warning">' not in body, body[:600]
        state["shown"].update(SUGGESTED.findall(body))
        found = NEXT_ITEM.search(body)
        state["items"] = [following, int(found.group(1)) if found else None]
        return True

    return step


def api_answerer(client):
    def step():
        response = client.post("/api/v1/queue/next/")
        if response.status_code != 200:
            return False
        item = response.json()
        answer = client.post(
            "/api/v1/labels/",
            {"transaction": item["transaction"]["id"], "label_class": "legit"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        )
        assert answer.status_code == 201, answer.content[:300]
        return True

    return step


def case(database: str, workdir: Path, *, answers: int) -> dict:
    import annotate_speed

    annotate_speed.prepare(database, workdir)
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from labeler.models import Label, LabelClass

    legit = LabelClass.objects.get(name="legit")
    page_user = annotate_speed.annotator("page")
    api_user = annotate_speed.annotator("api")
    page_client, api_client, health_client = Client(), Client(), Client()
    page_client.force_login(page_user)
    api_client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=api_user).key}"
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_user("staff", password="staff-pass", is_staff=True)
    health_client.force_login(staff)

    def health():
        assert health_client.get("/healthz").status_code in (200, 503)

    meter = Meter()
    steps = {
        "page": page_answerer(page_client, legit.pk),
        "api": api_answerer(api_client),
        "healthz": health,
    }
    for step in steps.values():  # first requests compile templates and fill caches
        meter.run(step, 20)
    results = meter.rounds(steps, answers, rounds=10)
    stored = Label.objects.filter(annotator__in=[page_user, api_user]).count()
    expected = results["page"]["answers"] + results["api"]["answers"] + 40
    assert stored == expected, f"{expected} answers, {stored} labels stored"
    from django.db import connection

    return {"database": connection.vendor, **results}


def child(database: str, rows: int, answers: int) -> None:
    # As deployed (no query log, no debug templates); the test client speaks plain HTTP.
    os.environ.update(DEBUG="false", SECURE_SSL_REDIRECT="false", LOG_LEVEL="WARNING")
    os.environ.setdefault("SECRET_KEY", "answer-cost-benchmark-" + "x" * 40)
    import annotate_speed

    annotate_speed.ROWS = rows
    annotate_speed.LABELS = answers + 40  # the queue the prepared run plans holds them all
    with tempfile.TemporaryDirectory() as tmp:
        print("RESULT " + json.dumps(case(database, Path(tmp), answers=answers)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--answers", type=int, default=300)
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, args.answers)
        return
    import subprocess

    for database in args.case or ["sqlite", "postgres"]:
        command = [sys.executable, __file__, "--child", database]
        command += ["--rows", str(args.rows), "--answers", str(args.answers)]
        output = subprocess.run(command, capture_output=True, text=True, check=False)
        lines = [x for x in output.stdout.splitlines() if x.startswith("RESULT ")]
        if output.returncode or not lines:
            print(output.stdout[-2000:], output.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"the {database} case failed")
        result = json.loads(lines[-1].removeprefix("RESULT "))
        base = result["healthz"]
        print(f"\n{result['database']}, {args.rows:,} rows")
        print(f"{'':8} {'answers':>7} {'queries':>7} {'cpu ms':>7} {'db cpu':>7} {'wall ms':>7}")
        for name in ("page", "api", "healthz"):
            row = result[name]
            print(
                f"{name:8} {row['answers']:>7} {row['queries']:>7.1f} {row['cpu_ms']:>7.2f} "
                f"{row['db_cpu_ms']:>7.2f} {row['wall_ms']:>7.2f}"
            )
        for name in ("page", "api"):
            row = result[name]
            total = row["cpu_ms"] + row["db_cpu_ms"]
            ratio = total / (base["cpu_ms"] + base["db_cpu_ms"])
            print(f"{name}: {total:.2f} ms CPU per answer (app + database) = {ratio:.1f} x healthz")


if __name__ == "__main__":
    main()
