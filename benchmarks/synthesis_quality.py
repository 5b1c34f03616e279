"""Synthetic copies of a transaction table: the fidelity / utility / privacy report of each
generator on the reference file (or generated data without it), and how fast rows come out.

    python benchmarks/synthesis_quality.py [--epochs 30] [--rows 200000] [--generated]
    python benchmarks/synthesis_quality.py --candidates kernel [--seed 1]   # the kernel alone
    python benchmarks/synthesis_quality.py --candidates cvae --positive-share 0.05

The generators learn from the earlier 80% of the rows by time (with the file's own classes, as
if every row were labeled) and the utility test runs on the later 20%: boosting trained on the
synthetic rows (TSTR) against boosting trained on the real ones (TRTR), the time column left out.
Targets (issue 21): TSTR AP >= 0.8 x TRTR AP; a classifier tells real from synthetic with ROC AUC
<= 0.75; <= 1% of synthetic rows closer to a real row than the 5th percentile of the real rows'
own closest distances; 200,000 rows generated in <= 60 s once trained.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from modeling.synthesis.pipeline import SynthesisRequest, synthesis_run  # noqa: E402
from modeling.synthesis.synthesizer import generator_config  # noqa: E402
from modeling.synthetic import transactions_synthesize  # noqa: E402

REFERENCE_FILE = PROJECT.parent / "shared" / "data" / "creditcard-public.csv.gz"
OUT = PROJECT / "benchmarks" / "out"


def load(generated: bool) -> tuple[pd.DataFrame, np.ndarray, str]:
    if not generated and REFERENCE_FILE.exists():
        frame = pd.read_csv(REFERENCE_FILE).sort_values("Time", kind="stable")
        classes = frame.pop("Class").to_numpy(np.int64)
        return frame.reset_index(drop=True), classes, REFERENCE_FILE.name
    data = transactions_synthesize(rows=100_000, features=28, fraud_rate=0.004, seed=11)
    frame = pd.DataFrame(data.features.astype(np.float64), columns=data.feature_names)
    frame.insert(0, "Time", np.round(data.time, 0))
    frame["Amount"] = np.round(data.amount, 2)
    return frame, data.labels.astype(np.int64), "generated (100,000 rows, 0.4% fraud)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", action="store_true")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--positive-share", type=float, help="default: the real share")
    parser.add_argument("--candidates", default="kernel,cvae,cgan")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    table, classes, source = load(args.generated)
    real_share = float(classes.mean())
    share = real_share if args.positive_share is None else args.positive_share
    print(f"data: {source}; {len(table):,} rows, {classes.sum():,} frauds ({real_share:.3%})")
    candidates = [name.strip() for name in args.candidates.split(",") if name.strip()]
    configs = {
        name: generator_config(name, epochs=args.epochs, seed=args.seed, device=args.device)
        for name in candidates
    }
    started = time.perf_counter()
    result = synthesis_run(
        table,
        classes,
        class_names=["legit", "fraud"],
        categorical=[],
        request=SynthesisRequest(
            rows=args.rows,
            positive_share=share,
            candidates=candidates,
            configs=configs,
            time_column="Time",
            utility_exclude=["Time"],
            seed=args.seed,
        ),
        on_progress=lambda fraction: print(
            f"  {fraction:4.0%} {time.perf_counter() - started:7.0f} s", flush=True
        ),
    )
    total = time.perf_counter() - started
    # Generation speed once trained; the baseline is copying as many real rows (its ratio says
    # what the generator costs over merely writing a table of that size).
    began = time.perf_counter()
    result.synthesizer.sample(args.rows, shares={1: share}, seed=args.seed + 7)
    generation = time.perf_counter() - began
    began = time.perf_counter()
    table.sample(args.rows, replace=True, random_state=0).reset_index(drop=True).copy()
    copying = time.perf_counter() - began

    report = result.report
    fidelity, privacy, utility = report.fidelity, report.privacy, report.utility
    worst = sorted(fidelity.columns.items(), key=lambda item: -item[1])[:5]
    print("\n".join(report.notes))
    print(f"rows written: {report.rows:,} {report.class_counts}; whole run {total:.0f} s")
    print(
        f"fidelity: real-vs-synthetic ROC AUC {fidelity.real_vs_synthetic_auc:.3f} (target <= 0.75)"
        f"; KS/TV mean {np.mean(list(fidelity.columns.values())):.3f}, worst "
        + ", ".join(f"{name} {value:.3f}" for name, value in worst)
        + f"; correlation difference mean {fidelity.correlation_difference_mean:.3f}"
        f", max {fidelity.correlation_difference_max:.3f}"
    )
    print(
        f"utility: TSTR AP {utility.train_synthetic_ap:.3f}, TRTR AP {utility.train_real_ap:.3f}"
        f", ratio {utility.ratio:.3f} (target >= 0.8) on {utility.test_rows:,} later rows"
        f" ({utility.test_positives} frauds)"
    )
    print(
        f"privacy: {privacy.share_closer:.2%} of synthetic rows closer than the real 5th "
        f"percentile {privacy.real_fifth_percentile:.3f} (target <= 1%); median distance ratio "
        f"{privacy.median_distance_ratio:.2f}; copies {privacy.copies}"
    )
    print(
        f"generation: {args.rows:,} rows in {generation:.1f} s (target <= 60 s); copying as many "
        f"real rows {copying:.2f} s, ratio {generation / max(copying, 1e-9):.0f}x"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "synthesis_report.json"
    path.write_text(json.dumps(report.as_dict(), indent=2))
    print(f"report: {path}")


if __name__ == "__main__":
    main()
