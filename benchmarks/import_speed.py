"""Import speed: the reference file into a fresh database, against pandas.read_csv on the same file.

    python benchmarks/import_speed.py [--database-url postgres://postgres@127.0.0.1:5432/x]
                                      [--file PATH | --generated | --raw] [--rows 284807]

Prints rows/s and the ratio of the whole import (read, validate, write, commit) to
pandas.read_csv alone, both measured in this process. Targets: <= 10 s and <= 5x read_csv.
--raw imports simulated raw card transactions (cards, merchants, dates, categories, text;
modeling/synthetic_raw.py) instead and also times the per-card and per-merchant features a
training run computes from them (target for 1M rows: import and features <= 60 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
REFERENCE_FILE = PROJECT.parent / "shared" / "data" / "creditcard-public.csv.gz"
sys.path.insert(0, str(PROJECT))


def fresh_postgres_database(url: str) -> None:
    """Drop and create the database named in the URL, so each run starts empty."""
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?")[0]
    server = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def generated_file(folder: Path, rows: int) -> Path:
    from labeler.services.demo import synthetic_frame
    from modeling.synthetic import transactions_synthesize

    data = transactions_synthesize(rows=rows, features=28, fraud_rate=0.0017, seed=0)
    path = folder / f"generated-{rows}.csv.gz"
    # Full float precision, like the reference file, so that read_csv has the same work to do.
    synthetic_frame(data).to_csv(path, index=False)
    return path


def raw_file(folder: Path, rows: int) -> Path:
    from modeling.synthetic_raw import RawSimulationConfig, raw_transactions_simulate

    # About 2 transactions per card and day over 120 days.
    customers = max(10, rows // 240)
    config = RawSimulationConfig(customers=customers, terminals=customers * 2, days=120)
    path = folder / f"raw-{rows}.csv.gz"
    raw_transactions_simulate(config).frame.to_csv(path, index=False)
    return path


def derived_seconds(dataset) -> tuple[float, int]:
    """What a training run spends on the per-card and per-merchant features: reading the rows
    as it does (`feature_rows_read`: keys, times, amounts and the features), and computing them."""
    from labeler.services.training.derived import derived_features
    from labeler.services.training_rows import feature_rows_read

    started = time.perf_counter()
    rows = feature_rows_read(dataset.transactions.all(), len(dataset.feature_names))
    _, names, _ = derived_features(dataset, rows.ids, rows.times, rows.amounts, rows.entities)
    return time.perf_counter() - started, len(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--file", type=Path, default=REFERENCE_FILE)
    parser.add_argument("--generated", action="store_true", help="use generated data")
    parser.add_argument("--raw", action="store_true", help="simulated raw card transactions")
    parser.add_argument("--rows", type=int, default=284_807, help="rows of generated data")
    parser.add_argument("--labels", default="reference", choices=["ignore", "trusted", "reference"])
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="fraudloop-import-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    if database_url.startswith("postgres"):
        fresh_postgres_database(database_url)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")
    os.environ.setdefault("DEBUG", "true")  # a development run: the public key is fine
    import django

    django.setup()
    import pandas as pd
    from django.core.management import call_command
    from django.db import connection

    from labeler.services.importing import transactions_import

    call_command("migrate", verbosity=0)
    source = args.file
    if args.raw:
        source = raw_file(workdir, args.rows)
        print(f"simulated raw transactions: {source.name}")
    elif args.generated or not source.exists():
        print(
            f"reference file {'skipped' if args.generated else 'absent'}: "
            f"generating {args.rows:,} rows"
        )
        source = generated_file(workdir, args.rows)

    baseline_times = []
    for _ in range(3):
        started = time.perf_counter()
        frame = pd.read_csv(source)
        baseline_times.append(time.perf_counter() - started)
    baseline = statistics.median(baseline_times)
    rows = len(frame)
    del frame

    started = time.perf_counter()
    batch = transactions_import(path=source, dataset_name="bench", label_mode=args.labels)
    elapsed = time.perf_counter() - started
    assert batch.row_count == rows

    size_mb = source.stat().st_size / 1e6
    print(f"file              {source.name} ({size_mb:.1f} MB, {rows:,} rows)")
    print(f"database          {connection.vendor} ({database_url.split('@')[-1]})")
    print(f"labels            {args.labels} ({batch.label_count:,} written)")
    print(f"pandas.read_csv   {baseline:6.2f} s  {rows / baseline:>10,.0f} rows/s  (median of 3)")
    print(f"import            {elapsed:6.2f} s  {rows / elapsed:>10,.0f} rows/s")
    print(f"ratio             {elapsed / baseline:6.2f} x read_csv   (target <= 5x, <= 10 s)")
    if args.raw:
        seconds, count = derived_seconds(batch.dataset)
        print(
            f"derived features  {seconds:6.2f} s  ({count} per row, as a training run reads them)"
        )
        print(f"import + features {elapsed + seconds:6.2f} s   (target <= 60 s at 1M rows)")


if __name__ == "__main__":
    main()
