"""SGAN ensemble: E SGANs trained as one batched network against one SGAN, per device.

    python benchmarks/sgan_ensemble.py                       # CPU, 8 members, 3 seeds
    python benchmarks/sgan_ensemble.py --device cpu --device cuda --members 8 --batch 256

Data: the reference file's pool (first 80% by time; generated data when the file is absent),
scaled as the product scales it; a labeled set as the loop holds one after a few rounds (--frauds
frauds and --legit legitimate rows drawn at random from the pool, the same for every run), and
--unlabeled unlabeled rows. The test set is the last 20%.

For each device, one SGAN (the product's CPU default) and the ensemble train on the same rows,
for each seed. Printed per run: seconds, steps done (early stopping ends a run when no member has
improved for `patience` evaluations), milliseconds per step, test AP. Then, per device, the
ensemble's time over one SGAN's (the issue's target on a GPU: <= 1 against the CPU's one SGAN),
and the spread of test AP across seeds for both (the ensemble's mean should vary less).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

import torch  # noqa: E402
from label_efficiency import load_split  # noqa: E402
from sklearn.metrics import average_precision_score  # noqa: E402

from modeling.device import resolve_device  # noqa: E402
from modeling.sgan import SGANConfig, sgan_train  # noqa: E402
from modeling.sgan_ensemble import sgan_ensemble_train  # noqa: E402


def training_sets(split, *, frauds: int, legit: int, unlabeled: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    positives = rng.choice(np.flatnonzero(split.y_pool == 1), frauds, replace=False)
    negatives = rng.choice(np.flatnonzero(split.y_pool == 0), legit, replace=False)
    labeled = np.concatenate([positives, negatives])
    rest = np.setdiff1d(np.arange(len(split.y_pool)), labeled)
    pool = rng.choice(rest, min(unlabeled, len(rest)), replace=False)
    return split.x_pool[labeled], split.y_pool[labeled], split.x_pool[pool]


def one_run(data, config: SGANConfig, x_test, y_test) -> dict:
    x_labeled, y_labeled, x_unlabeled = data
    train = sgan_ensemble_train if config.members > 1 else sgan_train
    if config.device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    model = train(x_labeled, y_labeled, x_unlabeled, num_classes=2, config=config)
    if config.device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    steps = model.history[-1]["step"] if model.history else config.steps
    ap = average_precision_score(y_test, model.predict_proba(x_test)[:, 1])
    return {"seconds": seconds, "steps": steps, "ms_per_step": 1000 * seconds / steps, "ap": ap}


def spread(values) -> str:
    return f"{statistics.mean(values):.3f} (sd {statistics.pstdev(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", action="append", help="cpu, cuda (repeated); default cpu")
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--batch", type=int, default=256, help="the ensemble's rows per batch")
    parser.add_argument("--steps", type=int, default=SGANConfig.steps)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--frauds", type=int, default=60)
    parser.add_argument("--legit", type=int, default=240)
    parser.add_argument("--unlabeled", type=int, default=100_000)
    parser.add_argument("--generated", action="store_true")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    split, source = load_split(args.generated)
    data = training_sets(split, frauds=args.frauds, legit=args.legit, unlabeled=args.unlabeled)
    print(
        f"data: {source}; {args.frauds} frauds + {args.legit} legit labeled, "
        f"{len(data[2]):,} unlabeled; test {len(split.y_test):,} rows; "
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
    )
    print("device | model | seed | seconds | steps | ms/step | test AP")
    results: dict[tuple[str, str], list[dict]] = {}
    for device in args.device or ["cpu"]:
        device_name = str(resolve_device(device))
        base = SGANConfig(device=device_name, steps=args.steps)
        models = {
            "1 SGAN": base,
            f"{args.members} SGANs": replace(base, members=args.members, batch_size=args.batch),
        }
        for name, config in models.items():
            # Not timed: the device's start (CUDA's context, kernels' first launch).
            one_run(data, replace(config, steps=5), split.x_test[:1000], split.y_test[:1000])
            for seed in range(args.seeds):
                result = one_run(data, replace(config, seed=seed), split.x_test, split.y_test)
                results.setdefault((device_name, name), []).append(result)
                print(
                    f"{device_name} | {name} | {seed} | {result['seconds']:.2f} | "
                    f"{result['steps']} | {result['ms_per_step']:.1f} | {result['ap']:.3f}"
                )
    print("\ndevice | model | mean seconds | mean ms/step | test AP over seeds")
    for (device_name, name), runs in results.items():
        print(
            f"{device_name} | {name} | {statistics.mean(r['seconds'] for r in runs):.2f} | "
            f"{statistics.mean(r['ms_per_step'] for r in runs):.1f} | "
            f"{spread([r['ap'] for r in runs])}"
        )
    cpu_one = results.get(("cpu", "1 SGAN"))
    for (device_name, name), runs in results.items():
        if name == "1 SGAN":
            continue
        own = results[(device_name, "1 SGAN")]
        per_step = statistics.mean(r["ms_per_step"] for r in runs) / statistics.mean(
            r["ms_per_step"] for r in own
        )
        line = f"{device_name}: {name} per step = {per_step:.2f} x one SGAN's on {device_name}"
        if cpu_one is not None:
            ratio = statistics.mean(r["seconds"] for r in runs) / statistics.mean(
                r["seconds"] for r in cpu_one
            )
            line += f"; whole training = {ratio:.2f} x one SGAN's on the CPU (target <= 1)"
        print(line)


if __name__ == "__main__":
    main()
