"""Training's read of a dataset: time and peak memory of the chunked read against a read of
every row at once.

    python benchmarks/training_read.py                   # 1M simulated raw rows on SQLite
    python benchmarks/training_read.py --rows 300000 --database-url postgres://postgres@127.0.0.1:5432/fraudloop_bench

Imports simulated raw card transactions (cards, merchants, dates; not timed) into a fresh
database, then reads them for training twice, each in a fresh process so that each has its own
high-water mark: the baseline, every row at once as a list of tuples turned into arrays (how
`training_arrays_build` read before the chunked reader), and `feature_rows_read`. Prints the
seconds, the growth of the peak resident memory over the process's memory before the read, and
the arrays' own size (what any read must hold at least).
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


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def _whole_read(dataset):
    """The baseline: every row as a tuple, then arrays and entity codes."""
    import numpy as np

    from labeler.services.training.derived import entity_codes

    rows = list(
        dataset.transactions.order_by("id").values_list(
            "id",
            "time",
            "amount",
            "score",
            "audit_number",
            "audit_inclusion",
            "features",
            "card_key",
            "merchant_key",
        )
    )
    ids, times, amounts, scores, numbers, inclusion, blobs, cards, merchants = zip(
        *rows, strict=True
    )
    width = len(dataset.feature_names)
    arrays = [
        np.asarray(ids, np.int64),
        np.asarray(times, np.float64),
        np.asarray(amounts, np.float64),
        np.asarray(scores, np.float64),
        np.asarray(numbers, np.float64),
        np.nan_to_num(np.asarray(inclusion, np.float64), nan=0.0),
        np.frombuffer(b"".join(blobs), "<f4").reshape(len(rows), width).astype(np.float32),
        entity_codes(list(cards)),
        entity_codes(list(merchants)),
    ]
    return arrays


def measure(url: str, how: str) -> dict:
    """In this (fresh) process: one read, its seconds and memory."""
    _setup(url)
    from labeler.models import Dataset
    from labeler.services.training_rows import feature_rows_read

    dataset = Dataset.objects.get(name="bench")
    # A read of a few rows first, so that imports and the database connection's setup are not
    # counted as either read's memory.
    first = dataset.transactions.order_by("id").values_list("id", flat=True).first()
    feature_rows_read(dataset.transactions.filter(id__lt=first + 100), len(dataset.feature_names))
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the high-water mark starts again from here (Linux)
    before = _status_mib("VmRSS")
    started = time.perf_counter()
    if how == "whole":
        arrays = _whole_read(dataset)
    else:
        rows = feature_rows_read(dataset.transactions.all(), len(dataset.feature_names))
        arrays = [
            rows.ids,
            rows.times,
            rows.amounts,
            rows.scores,
            rows.audit_number,
            rows.audit_inclusion,
            rows.features,
            *rows.entities.values(),
        ]
    seconds = time.perf_counter() - started
    peak = _status_mib("VmHWM")
    return {
        "rows": len(arrays[0]),
        "seconds": seconds,
        "peak_growth_mib": peak - before,
        "arrays_mib": sum(array.nbytes for array in arrays) / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--measure", choices=["whole", "chunked"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.database_url, args.measure)))
        return
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        if args.database_url:
            from import_speed import fresh_postgres_database

            fresh_postgres_database(url)
        _setup(url)
        from django.core.management import call_command
        from import_speed import raw_file

        from labeler.services.importing import transactions_import

        call_command("migrate", verbosity=0)
        path = raw_file(Path(folder), args.rows)
        transactions_import(path=path, dataset_name="bench", label_mode="reference")
        results = {}
        for how in ("whole", "chunked"):
            command = [sys.executable, __file__, "--measure", how, "--database-url", url]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            results[how] = json.loads(output.strip().splitlines()[-1])
    whole, chunked = results["whole"], results["chunked"]
    print(f"{whole['rows']:,} rows, arrays {chunked['arrays_mib']:.0f} MiB")
    print(f"{'read':<26} {'seconds':>8} {'peak growth MiB':>16} {'x arrays':>9}")
    for name, result in (("every row at once (before)", whole), ("in chunks", chunked)):
        print(
            f"{name:<26} {result['seconds']:>8.1f} {result['peak_growth_mib']:>16.0f} "
            f"{result['peak_growth_mib'] / result['arrays_mib']:>9.2f}"
        )
    print(
        f"chunked / whole: time {chunked['seconds'] / whole['seconds']:.2f}, "
        f"peak growth {chunked['peak_growth_mib'] / whole['peak_growth_mib']:.2f}"
    )


if __name__ == "__main__":
    main()
