"""Label efficiency: test AP against the number of human labels, per labeling strategy.

    python benchmarks/label_efficiency.py [--seeds 3] [--draws 100] [--generated] [--quick]
    python benchmarks/label_efficiency.py --product [--only fraudloop]   # + the product itself
    python benchmarks/label_efficiency.py --only fraudloop --seeds 1 --device cpu --device cuda
    python benchmarks/label_efficiency.py --generated-raw [--seeds 2]   # raw card transactions

A simulated annotator answers from the reference labels. The pool is the first 80% of rows by
time, the test set the last 20%. Strategies: random sampling (mean of --draws orders), the
simple baseline (isolation forest, then logistic regression: 25 likely + 25 boundary items a
round), fraudloop (anomaly detectors' cold start, weak + SGAN committee, diversity, pseudo-labels),
fraudloop without the SGAN, and the ceiling (fully supervised on every pool label). Prints a
table, areas under the curves and the target ratios; writes CSV and PNG to benchmarks/out/.
fraudloop keeps an audit frame (10% of the pool) that it never learns from and spends its
audit share of the labels there; each version's audit estimate is printed beside its test AP.

--augment N adds fraudloop with N generated frauds per training (issue 21), beside the default;
--augment-generator kernel draws them from the local kernel instead of a conditional VAE.
--sgan-members N adds fraudloop with an ensemble of N SGANs as its SGAN member (issue 20).

--product also drives the real services as an annotator would (efficiency_product.py): import,
training runs, queue_next_item, label_submit, the queue and retrain policy as shipped; its
curve sits beside the offline one so the two cannot drift apart.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

from efficiency_audit import audit_targets, estimate_table  # noqa: E402
from efficiency_fraudloop import fraudloop_curve  # noqa: E402
from efficiency_product import product_curves  # noqa: E402
from efficiency_strategies import (  # noqa: E402
    Curve,
    RawData,
    Split,
    area,
    at,
    baseline_curve,
    ceiling_scores,
    random_curves,
)

from modeling.anomaly.ensemble import AnomalyConfig  # noqa: E402
from modeling.committee import CommitteeConfig  # noqa: E402
from modeling.features import FeatureScaler, feature_matrix  # noqa: E402
from modeling.synthesis.augment import AugmentConfig  # noqa: E402
from modeling.synthetic import transactions_synthesize  # noqa: E402

REFERENCE_FILE = PROJECT.parent / "shared" / "data" / "creditcard-public.csv.gz"
OUT = PROJECT / "benchmarks" / "out"


def load_raw(generated: bool) -> tuple[RawData, str]:
    """The transactions in time order, as a file would hold them."""
    if not generated and REFERENCE_FILE.exists():
        import pandas as pd

        frame = pd.read_csv(REFERENCE_FILE).sort_values("Time", kind="stable")
        features = frame[[f"V{i}" for i in range(1, 29)]].to_numpy(np.float32)
        amount, seconds = frame["Amount"].to_numpy(), frame["Time"].to_numpy()
        labels = frame["Class"].to_numpy().astype(np.int64)
        source = REFERENCE_FILE.name
    else:
        data = transactions_synthesize(rows=200_000, features=28, fraud_rate=0.002, seed=11)
        features, amount, seconds, labels = data.features, data.amount, data.time, data.labels
        source = "generated (200,000 rows, 0.2% fraud)"
    return RawData(features, amount, seconds, labels), source


def load_split(generated: bool) -> tuple[Split, str]:
    raw, source = load_raw(generated)
    features, amount, seconds, labels = raw.features, raw.amount, raw.seconds, raw.labels
    matrix = feature_matrix(features, amount, seconds)
    matrix = FeatureScaler.fit(matrix).transform(matrix)  # fitted on all rows, as the product does
    cut = int(len(labels) * 0.8)
    return Split(matrix[:cut], labels[:cut], matrix[cut:], labels[cut:]), source


def mean_sd(values) -> str:
    values = np.asarray(values, float)
    return f"{np.nanmean(values):.3f}±{np.nanstd(values):.3f}" if values.size else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--round-size", type=int, default=50)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--generated", action="store_true")
    parser.add_argument(
        "--quick", action="store_true", help="1 seed, 10 draws, no ceiling MLP tuning"
    )
    parser.add_argument("--only", choices=["fraudloop"], help="skip everything but fraudloop")
    parser.add_argument(
        "--product", action="store_true", help="also run the loop through the real services"
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads for the product mode (0: all)"
    )
    parser.add_argument(
        "--device",
        action="append",
        help="the SGAN's device (auto, cpu, cuda); repeated, fraudloop runs once per device",
    )
    parser.add_argument(
        "--also-detectors",
        action="append",
        help="fraudloop again with these anomaly detectors (comma-separated, the mean of their "
        "ranks) instead of the default: e.g. autoencoder, the cold start before the ensemble",
    )
    parser.add_argument(
        "--generated-raw",
        action="store_true",
        help="simulated raw card transactions (efficiency_raw.py): fraudloop with and without "
        "the per-card and per-merchant features, the baseline and the boosting ceiling",
    )
    parser.add_argument("--raw-customers", type=int, default=2500, help="about 240 rows each")
    parser.add_argument(
        "--raw-variant",
        action="append",
        help="with --generated-raw, a fraudloop variant to run (repeated; see efficiency_raw."
        "VARIANTS; default: with and without the derived features)",
    )
    parser.add_argument(
        "--no-ablation", action="store_true", help="skip fraudloop without the SGAN"
    )
    parser.add_argument(
        "--augment",
        type=int,
        default=0,
        help="also fraudloop with this many generated frauds per training "
        "(modeling/synthesis/augment.py, at their low weight) beside the default without",
    )
    parser.add_argument(
        "--augment-generator",
        choices=["cvae", "kernel"],
        default="cvae",
        help="what draws the generated frauds for --augment",
    )
    parser.add_argument(
        "--sgan-members",
        type=int,
        default=0,
        help="also fraudloop with an ensemble of this many SGANs as the SGAN member "
        "(modeling/sgan_ensemble.py) beside the default one",
    )
    parser.add_argument(
        "--share-resamples",
        type=int,
        default=0,
        help="also fraudloop with the members' shares chosen on this many resamples of the "
        "record (1: the record's own best grid point)",
    )
    parser.add_argument(
        "--no-trees",
        action="store_true",
        help="also fraudloop without the boosted-tree member (modeling/trees.py) of the committee",
    )
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.draws = 1, 10
    if args.generated_raw:
        from efficiency_raw import DEFAULT_VARIANTS, raw_report

        raw_report(
            seeds=list(range(args.seeds)),
            round_size=args.round_size,
            budget=args.budget,
            customers=args.raw_customers,
            variants=tuple(args.raw_variant or DEFAULT_VARIANTS),
        )
        return
    started = time.perf_counter()
    split, source = load_split(args.generated)
    pool_frauds = int(split.y_pool.sum())
    print(
        f"data: {source}; pool {len(split.y_pool):,} rows ({pool_frauds} frauds), "
        f"test {len(split.y_test):,} rows ({int(split.y_test.sum())} frauds)"
    )
    seeds = list(range(args.seeds))
    chance = float(split.y_test.mean())
    curves: dict[str, list[Curve]] = {}
    settings = dict(round_size=args.round_size, budget=args.budget)
    if args.only is None:
        curves["random"] = [random_curves(split, draws=args.draws, seed=0, **settings)]
        curves["baseline"] = [baseline_curve(split, seed=s, **settings) for s in seeds]
    for index, device in enumerate(args.device or ["auto"]):
        config = CommitteeConfig()
        config = replace(config, sgan=replace(config.sgan, device=device))
        name = "fraudloop" if index == 0 else f"fraudloop on {device}"
        curves[name] = [fraudloop_curve(split, seed=s, config=config, **settings) for s in seeds]
    if args.augment:
        augment = AugmentConfig(rows=args.augment, kind=args.augment_generator)
        augmented = replace(CommitteeConfig(), augment=augment)
        curves[f"fraudloop + {args.augment} {args.augment_generator} frauds"] = [
            fraudloop_curve(split, seed=s, config=augmented, **settings) for s in seeds
        ]
    if args.sgan_members:
        base = CommitteeConfig()
        ensemble = replace(base, sgan=replace(base.sgan, members=args.sgan_members))
        curves[f"fraudloop, {args.sgan_members} SGANs"] = [
            fraudloop_curve(split, seed=s, config=ensemble, **settings) for s in seeds
        ]
    if args.share_resamples:
        config = CommitteeConfig(share_resamples=args.share_resamples)
        curves[f"fraudloop, shares from {args.share_resamples} resamples"] = [
            fraudloop_curve(split, seed=s, config=config, **settings) for s in seeds
        ]
    if args.no_trees:
        curves["fraudloop without trees"] = [
            fraudloop_curve(split, seed=s, config=CommitteeConfig(use_trees=False), **settings)
            for s in seeds
        ]
    for detectors in args.also_detectors or []:
        anomaly = AnomalyConfig(detectors=tuple(detectors.split(",")), combine="mean")
        curves[f"fraudloop, cold start {detectors}"] = [
            fraudloop_curve(split, seed=s, config=CommitteeConfig(), anomaly=anomaly, **settings)
            for s in seeds
        ]
    if args.product:
        raw, _ = load_raw(args.generated)
        cut = int(len(raw.labels) * 0.8)
        curves["fraudloop (product)"] = product_curves(
            raw.part(slice(0, cut)),
            raw.part(slice(cut, None)),
            seeds=seeds,
            budget=args.budget,
            threads=args.threads or (os.cpu_count() or 1),
        )
    if args.only is None and not args.no_ablation:
        no_sgan = replace(CommitteeConfig(), use_sgan=False)
        curves["fraudloop without SGAN"] = [
            fraudloop_curve(split, seed=s, config=no_sgan, **settings) for s in seeds
        ]
    ceiling = ceiling_scores(split, seed=0) if args.only is None else {}
    report(curves, ceiling, chance, pool_frauds, args, time.perf_counter() - started)
    for name in ("fraudloop", "fraudloop (product)"):
        if name in curves:
            for line in estimate_table(name, curves[name], from_labels=300):
                print(line)
    print("\nthis issue's targets (means over seeds):")
    for line in audit_targets(curves, chance, args):
        print(line)


def share_moves(curves) -> str:
    cells = []
    for member in ("sgan", "anomaly", "trees"):
        moves = np.concatenate(
            [np.abs(np.diff(getattr(c, f"{member}_share"))) for c in curves] or [np.zeros(0)]
        )
        moves = moves[~np.isnan(moves)]
        if moves.size:
            cells.append(f"{member} {moves.mean():.3f} ({moves.max():.2f})")
    return ", ".join(cells) or "-"


def report(curves, ceiling, chance, pool_frauds, args, elapsed) -> None:
    sizes = curves["fraudloop"][0].labels
    names = list(curves)
    print(
        f"\n{'labels':>6} "
        + " ".join(f"{name:>24}" for name in names)
        + "   frauds found (fraudloop)   SGAN, anomaly, trees shares"
    )
    for row, size in enumerate(sizes):
        cells = [mean_sd([at(c.ap, row) for c in curves[name]]) for name in names]
        found = mean_sd([c.frauds_found[row] for c in curves["fraudloop"]])
        share = " ".join(
            "-" if np.isnan(values).all() else f"{np.nanmean(values):.2f}"
            for values in (
                [at(c.sgan_share, row) for c in curves["fraudloop"]],
                [at(c.anomaly_share, row) for c in curves["fraudloop"]],
                [at(c.trees_share, row) for c in curves["fraudloop"]],
            )
        )
        print(
            f"{size:>6} "
            + " ".join(f"{cell:>24}" for cell in cells)
            + f"   {found:>24}   {share:>10}"
        )
    areas = {
        name: [area(c.labels, c.ap, chance, args.budget) for c in curves[name]] for name in names
    }
    print("\narea under the learning curve (AP x labels / budget):")
    for name in names:
        seconds = np.mean([c.seconds for c in curves[name]])
        members = ", ".join(
            f"{member} {np.mean([c.member_seconds.get(member, 0.0) for c in curves[name]]):.1f} s"
            for member in sorted({m for c in curves[name] for m in c.member_seconds})
        )
        training = f"; training {members}" if members else ""
        print(f"  {name:<24} {mean_sd(areas[name])}   ({seconds:.0f} s per run{training})")
    print("\nhow far the shares move from one round to the next (mean, and largest, of |change|):")
    for name in names:
        print(f"  {name:<24} {share_moves(curves[name])}")
    if ceiling:
        print("\nceiling (fully supervised on every pool label):")
        for name, value in ceiling.items():
            print(f"  {name:<44} AP {value:.3f}")
        best = max(ceiling.values())
        for line in target_lines(curves, areas, best, pool_frauds):
            print(line)
    write_outputs(curves, sizes, ceiling)
    print(f"\ntotal {elapsed / 60:.1f} min; CSV and PNG in {OUT}")


def target_lines(curves, areas, ceiling_ap, pool_frauds) -> list[str]:
    """The issue's targets, each as 'figure  value  (target)'; means over seeds."""
    full = curves["fraudloop"]
    sizes = full[0].labels
    index = {size: i for i, size in enumerate(sizes)}

    def mean_at(size, field="ap"):
        return float(np.mean([getattr(c, field)[index[size]] for c in full]))

    area_ratio = np.mean(areas["fraudloop"]) / np.mean(areas["baseline"])
    baseline = np.mean([c.ap for c in curves["baseline"]], axis=0)
    mine = np.mean([c.ap for c in full], axis=0)
    below = [s for s, b, m in zip(sizes, baseline, mine, strict=True) if s >= 100 and m < b]
    drop = max(max(0.0, a - b) for c in full for a, b in zip(c.ap, c.ap[1:], strict=False))
    found = float(np.mean([c.frauds_found[-1] for c in full]))
    lines = ["\ntargets (mean over seeds):"]
    if 300 in index:
        lines.append(
            f"  AP at 300 labels / ceiling       {mean_at(300) / ceiling_ap:.3f}  (>= 1.00)"
        )
    last = sizes[-1]
    lines.append(
        f"  AP at {last} labels / ceiling      {mean_at(last) / ceiling_ap:.3f}  (>= 1.05)"
    )
    lines.append(f"  area / baseline area             {area_ratio:.3f}  (>= 1.15)")
    lines.append(f"  rounds from 100 labels below the baseline: {below or 'none'}")
    lines.append(f"  largest AP drop between rounds   {drop:.3f}  (<= 0.05)")
    if 500 in index:
        first = mean_at(500, "frauds_found")
        lines.append(
            f"  frauds in the first 500 labels   {first:.0f} = {first / 500:.0%}  (>= 60%)"
        )
    lines.append(
        f"  pool frauds found by {last} labels {found:.0f} of {pool_frauds} = "
        f"{found / pool_frauds:.0%}  (>= 90%)"
    )
    if "fraudloop without SGAN" in areas:
        ratio = np.mean(areas["fraudloop"]) / np.mean(areas["fraudloop without SGAN"])
        lines.append(
            f"  area with / without the SGAN     {ratio:.3f}  (> 1: the SGAN earns its place)"
        )
    return lines


def write_outputs(curves, sizes, ceiling) -> None:
    OUT.mkdir(exist_ok=True)
    with (OUT / "label_efficiency.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["strategy", "seed", "labels", "test_ap", "frauds_found"])
        for name, runs in curves.items():
            for seed, curve in enumerate(runs):
                for size, ap, found in zip(curve.labels, curve.ap, curve.frauds_found, strict=True):
                    writer.writerow([name, seed, size, f"{ap:.5f}", found])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 5))
    for name, runs in curves.items():
        values = np.array([c.ap for c in runs])
        axis.plot(sizes, values.mean(axis=0), label=name)
        axis.fill_between(
            sizes, values.mean(0) - values.std(0), values.mean(0) + values.std(0), alpha=0.15
        )
    if ceiling:
        axis.axhline(
            max(ceiling.values()), color="black", linestyle="--", label="ceiling (all labels)"
        )
    axis.set_xlabel("human labels")
    axis.set_ylabel("test average precision")
    axis.set_title("fraudloop label efficiency")
    axis.legend()
    figure.tight_layout()
    figure.savefig(OUT / "label_efficiency.png", dpi=120)


if __name__ == "__main__":
    main()
