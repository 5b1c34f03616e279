"""Label export: time and peak memory of each format at 285k transactions, against loading the
same rows whole into a pandas DataFrame and writing it (the obvious way that does not stream).

    python benchmarks/export_speed.py [--rows 284807] [--database-url postgres://...]

The data: generated transactions, 2,000 human labels (a tenth of them reviewed, a few overruled)
and 5,000 pseudo-labels. Peak memory is the peak of Python allocations (tracemalloc) during each
export, in a separate measurement from its time. The figure that matters: memory stays flat as
the table grows, where the baseline's grows with it.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))


def prepare(url: str, workdir: Path, rows: int):
    os.environ["DATABASE_URL"] = url
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")
    os.environ.setdefault("DEBUG", "true")  # a development run: the public key is fine
    import django

    django.setup()
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from import_speed import generated_file

    from labeler.models import Label, LabelClass, ModelVersion, PseudoLabel, Review, Transaction
    from labeler.services.importing import transactions_import

    call_command("migrate", verbosity=0)
    transactions_import(path=generated_file(workdir, rows), dataset_name="bench")
    users = get_user_model()
    annotator = users.objects.create(username="annotator")
    reviewer = users.objects.create(username="reviewer")
    legit, fraud = LabelClass.objects.get(name="legit"), LabelClass.objects.get(name="fraud")
    ids = np.asarray(Transaction.objects.order_by("id").values_list("id", flat=True))
    rng = np.random.default_rng(0)
    chosen = rng.choice(ids, size=7_000, replace=False)
    labels = Label.objects.bulk_create(
        Label(
            transaction_id=int(t),
            annotator=annotator,
            label_class=fraud if i % 20 == 0 else legit,
            decision=Label.Decision.MANUAL,
        )
        for i, t in enumerate(chosen[:2_000])
    )
    Review.objects.bulk_create(
        Review(
            transaction_id=label.transaction_id,
            label=label,
            reviewer=reviewer,
            verdict=Review.Verdict.OVERRULE if i % 5 == 0 else Review.Verdict.AGREE,
            new_class=fraud if i % 5 == 0 else None,
        )
        for i, label in enumerate(labels[:200])
    )
    version = ModelVersion.objects.create(status=ModelVersion.Status.ACTIVE)
    PseudoLabel.objects.bulk_create(
        PseudoLabel(
            transaction_id=int(t), label_class=legit, model_version=version, probability=0.99
        )
        for t in chosen[2_000:]
    )


def measure(run) -> tuple[float, float]:
    """(seconds, peak MiB of Python allocations), from two runs so tracing does not slow the
    timed one."""
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=284_807)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="fraudloop-export-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    if url.startswith("postgres"):
        from import_speed import fresh_postgres_database

        fresh_postgres_database(url)
    prepare(url, workdir, args.rows)

    import pandas as pd

    from labeler.services.exporting import (
        export_chunks,
        export_csv,
        export_jsonl,
        export_parquet,
        export_request_check,
    )

    request = export_request_check(dataset_name="bench", format="csv")

    def drain(chunks):
        for _ in chunks:
            pass

    def to_file(name):
        def run():
            with open(workdir / name, "wb") as handle:
                export_parquet(request, handle)

        return run

    def baseline():
        """Every row built first, then one DataFrame, then one CSV string: nothing streams."""
        frame = pd.DataFrame([row for chunk in export_chunks(request) for row in chunk])
        frame.to_csv(io.StringIO(), index=False)

    cases = {
        "csv (streamed)": lambda: drain(export_csv(request)),
        "jsonl (streamed)": lambda: drain(export_jsonl(request)),
        "parquet (row groups)": to_file("labels.parquet"),
        "baseline: DataFrame + to_csv": baseline,
    }
    results = {name: measure(run) for name, run in cases.items()}
    base_seconds, base_peak = results["baseline: DataFrame + to_csv"]
    print(f"\n{args.rows:,} transactions on {url.split(':')[0]}")
    print(
        f"{'export':<30}{'seconds':>9}{'rows/s':>11}{'peak MiB':>10}{'x time':>8}{'x memory':>10}"
    )
    for name, (seconds, peak) in results.items():
        print(
            f"{name:<30}{seconds:>9.2f}{args.rows / seconds:>11,.0f}{peak:>10.1f}"
            f"{seconds / base_seconds:>8.2f}{peak / base_peak:>10.2f}"
        )
    size = (workdir / "labels.parquet").stat().st_size / 2**20
    print(f"\nParquet file: {size:.1f} MiB. Ratios are against the baseline in this process.")


if __name__ == "__main__":
    main()
