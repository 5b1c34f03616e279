"""Cold start: how many frauds each anomaly detector, and each way of combining them, puts first.

    python benchmarks/cold_start.py [--seeds 5] [--generated | --generated-raw] [--threads 2]

Before the first fraud is labeled, the anomaly ranking alone decides what annotators see. Each
detector of modeling/anomaly is fitted on the pool (the first 80% of the rows by time, as in
label_efficiency.py) once per seed, timed, and ranks the pool; then every combination of them
(every subset: the mean of its ranks and Fisher's method, and for three or more the trimmed
mean and the median) ranks it from the same fitted detectors. Printed per ranking: frauds in
the top 50 / 100 / 500, the ranking's average precision over the pool, per seed and on
average; the isolation forest alone is the baseline, in the same run, and the target is a
combination with at least its frauds in the top 50 and the top 100 on every seed and more on
average. The product's default row is the default for the data's inputs: files of numbers
(the reference file, --generated) or simulated raw transactions (--generated-raw: one-hot
categories and the per-card and per-merchant features, as the product trains on them).
Writes every ranking's figures to benchmarks/out/cold_start[-generated|-raw].csv.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import average_precision_score

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

from efficiency_raw import raw_splits  # noqa: E402
from label_efficiency import load_split  # noqa: E402

from modeling.anomaly import DETECTORS  # noqa: E402
from modeling.anomaly.ensemble import AnomalyConfig, AnomalyEnsemble  # noqa: E402
from modeling.anomaly.isolation_forest import IsolationForestConfig  # noqa: E402

OUT = PROJECT / "benchmarks" / "out"
TOPS = (50, 100, 500)
COMBINE_RULES = ("mean", "trimmed_mean", "median", "fisher")
BASELINE = "baseline: isolation forest, 100 trees"


def ranking_figures(scores: np.ndarray, y: np.ndarray) -> dict[str, float]:
    order = np.argsort(-scores, kind="stable")
    figures = {f"top{k}": int(y[order[:k]].sum()) for k in TOPS}
    figures["ap"] = float(average_precision_score(y, scores))
    return figures


def combinations(names: list[str]) -> list[tuple[tuple[str, ...], str]]:
    """(detectors, rule) for every subset of two or more: the mean and Fisher's method, and for
    three or more the trimmed mean and the median."""
    chosen = []
    for size in range(2, len(names) + 1):
        for subset in itertools.combinations(names, size):
            chosen += [(subset, "mean"), (subset, "fisher")]
            if size >= 3:
                chosen += [(subset, "trimmed_mean"), (subset, "median")]
    return chosen


def default_label(numeric: bool) -> str:
    """The product's default ranking for these inputs (AnomalyConfig.for_inputs)."""
    config = AnomalyConfig.for_inputs(numeric=numeric)
    weighed = ",".join(f"{name}={weight:g}" for name, weight in config.weights.items())
    members = "+".join(config.detectors)
    return f"default: {config.combine}({members}){' weights ' + weighed if weighed else ''}"


def one_seed(
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    names: list[str],
    changes: dict,
    weights: dict,
    numeric: bool,
) -> tuple[dict, dict]:
    """Each detector fitted and timed, then every ranking's figures: ({ranking: figures},
    {detector: seconds}). `changes`: config fields to set on every detector that has them;
    `weights`: a detector's weight in every combination that has it (unnamed: 1)."""
    config = AnomalyConfig(detectors=tuple(names), seed=seed, device="cpu")
    for name in names:
        own = getattr(config, name)
        fields = {k: v for k, v in changes.items() if k in own.__dataclass_fields__}
        setattr(config, name, replace(own, **fields))
    detectors, seconds, ranks = {}, {}, {}
    for name in names:
        started = time.perf_counter()
        detector = DETECTORS[name](x.shape[1], config.detector_config(name)).fit(x)
        seconds[name] = time.perf_counter() - started
        detectors[name] = detector
        ranks[name] = detector.rank(x)
    results = {(name,): ranking_figures(ranks[name], y) for name in names}
    # The baseline: scikit-learn's default forest (100 trees), whatever the options change.
    baseline = IsolationForestConfig(trees=100, seed=seed)
    forest = DETECTORS["isolation_forest"](x.shape[1], baseline).fit(x)
    results[(BASELINE,)] = ranking_figures(forest.score(x), y)

    def combined(subset, rule: str, weighed: dict) -> dict[str, float]:
        ensemble = AnomalyEnsemble(
            {name: detectors[name] for name in subset}, weights=weighed, combine=rule
        )
        return ranking_figures(ensemble.combined({name: ranks[name] for name in subset}), y)

    for subset, rule in combinations(names):
        results[(*subset, rule)] = combined(subset, rule, weights)
    default = AnomalyConfig.for_inputs(numeric=numeric)
    if set(default.detectors) <= set(names):
        results[(default_label(numeric),)] = combined(
            default.detectors, default.combine, default.weights
        )
    return results, seconds


def label(key: tuple[str, ...]) -> str:
    if len(key) == 1:
        return key[0]
    *subset, rule = key
    return f"{rule}({'+'.join(subset)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--generated", action="store_true")
    parser.add_argument(
        "--generated-raw",
        type=int,
        metavar="CUSTOMERS",
        help="simulated raw transactions of this many customers (2000: about 470,000 rows), "
        "with the derived features",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all)")
    parser.add_argument("--detectors", default=",".join(DETECTORS))
    parser.add_argument("--show", type=int, default=12, help="combinations printed, best first")
    parser.add_argument("--epochs", type=int, help="every network detector's epochs")
    parser.add_argument("--trees", type=int, help="the isolation forest's trees")
    parser.add_argument("--out", default="", help="a suffix for the CSV's name")
    parser.add_argument(
        "--weigh",
        default="",
        help="weights in every combination, e.g. alocc=2 (mean, Fisher's method, median)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.detectors.split(",")
    weights = {
        name: float(weight)
        for name, weight in (item.split("=") for item in args.weigh.split(",") if item)
    }
    started = time.perf_counter()
    numeric = not args.generated_raw
    if numeric:
        split, source = load_split(args.generated)
    else:
        raw = raw_splits(customers=args.generated_raw)
        split, source = raw.splits["with"], raw.source
    x, y = split.x_pool, split.y_pool
    print(f"cold start on {source}: pool of {len(y):,} rows, {int(y.sum())} frauds")

    per_seed: dict[tuple, list[dict]] = {}
    fit_seconds: dict[str, list[float]] = {name: [] for name in names}
    for seed in range(args.seeds):
        changes = {"epochs": args.epochs, "trees": args.trees}
        results, seconds = one_seed(
            x,
            y,
            seed,
            names,
            {k: v for k, v in changes.items() if v is not None},
            weights,
            numeric,
        )
        for key, figures in results.items():
            per_seed.setdefault(key, []).append(figures)
        for name, value in seconds.items():
            fit_seconds[name].append(value)
        print(f"  seed {seed}: " + ", ".join(f"{n} {s:.1f} s" for n, s in seconds.items()))

    baseline = per_seed[(BASELINE,)]

    def summary(key) -> dict:
        runs = per_seed[key]
        mean = {metric: float(np.mean([r[metric] for r in runs])) for metric in runs[0]}
        # At least the forest's frauds in the top 50 and the top 100 on every seed.
        mean["every_seed"] = all(
            r["top50"] >= b["top50"] and r["top100"] >= b["top100"]
            for r, b in zip(runs, baseline, strict=True)
        )
        return mean

    def row(key) -> str:
        runs, mean = per_seed[key], summary(key)
        seeds = " ".join(f"{r['top50']:>3}/{r['top100']:<3}" for r in runs)
        return (
            f"  {label(key):<58} {mean['top50']:6.1f} {mean['top100']:6.1f} "
            f"{mean['top500']:6.1f} {mean['ap']:6.3f} {'yes' if mean['every_seed'] else 'no':>5}"
            f"   {seeds}"
        )

    header = (
        f"  {'ranking':<58} {'top50':>6} {'top100':>6} {'top500':>6} {'AP':>6} "
        f"{'>=IF':>5}   per seed top50/top100"
    )
    print("\nEach detector alone (mean over seeds; '>=IF': at least the forest on every seed)")
    print(header)
    for name in [*names, BASELINE, default_label(numeric)]:
        if (name,) in per_seed:
            print(row((name,)))
    print(
        "\nFit seconds (mean over seeds): "
        + ", ".join(f"{name} {np.mean(values):.1f}" for name, values in fit_seconds.items())
    )
    combined = [key for key in per_seed if len(key) > 1 and key[-1] in COMBINE_RULES]
    ranked = sorted(combined, key=lambda k: (summary(k)["top100"], summary(k)["top50"]))[::-1]
    print(f"\nCombinations, best {args.show} by mean frauds in the top 100")
    print(header)
    for key in ranked[: args.show]:
        print(row(key))
    everything = (*names, "mean")
    for key in (everything, (*names, "trimmed_mean"), (*names, "median")):
        if key in per_seed and key not in ranked[: args.show]:
            print(row(key))

    OUT.mkdir(parents=True, exist_ok=True)
    kind = "-raw" if args.generated_raw else "-generated" if args.generated else ""
    name = "cold_start" + kind + args.out
    path = OUT / f"{name}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ranking", "seed", "top50", "top100", "top500", "ap"])
        for key, runs in per_seed.items():
            for seed, r in enumerate(runs):
                writer.writerow([label(key), seed, r["top50"], r["top100"], r["top500"], r["ap"]])
    print(f"\nwrote {path.relative_to(PROJECT)}; {time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
