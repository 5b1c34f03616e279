"""label_efficiency.py --generated-raw: the loop on simulated raw card transactions, with and
without the per-card and per-merchant features.

The export of modeling/synthetic_raw.py (about 600,000 transactions over 120 days) is encoded as
the import encodes it (the categories' most frequent values, log amount, hour of day); the
derived features (modeling/entity_features.py) come from the card and merchant columns, the
merchant's risk from the chargebacks an issuer would know by then (each fraud's own delayed
date, never a label the loop gave). The pool is the first 80% by time, the test set the rest.
fraudloop runs in memory (efficiency_fraudloop.py) on both inputs; the fully supervised
gradient-boosting ceiling on the derived input is the yardstick.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from efficiency_fraudloop import fraudloop_curve
from efficiency_strategies import Curve, Split, area, baseline_curve, ceiling_scores

from labeler.services.import_columns import category_features, category_levels
from modeling.committee import CommitteeConfig
from modeling.entity_features import EntityFeatureConfig, entity_features
from modeling.features import FeatureScaler, feature_matrix
from modeling.synthetic_raw import RawSimulationConfig, raw_transactions_simulate
from modeling.weak import WeakConfig

CATEGORIES = ["currency", "mcc", "country", "entry_mode"]
EPOCH = pd.Timestamp(0, tz="UTC")


def _seconds(series: pd.Series) -> np.ndarray:
    return ((series - EPOCH) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)


def _nowhere(*args, **kwargs) -> str:  # the simulation's categories are never refused
    return "simulated"


def raw_splits(*, customers: int, seed: int = 11) -> tuple[dict[str, Split], str, np.ndarray]:
    """The two inputs' splits, a description, and each row's fraud scenario (0: legitimate;
    the pool's rows first, as in the splits)."""
    simulated = raw_transactions_simulate(
        RawSimulationConfig(customers=customers, terminals=2 * customers, days=120, seed=seed)
    )
    frame = simulated.frame
    times = _seconds(pd.to_datetime(frame["timestamp"], utc=True))
    amount = frame["amount"].to_numpy(dtype=np.float64)
    labels = frame["is_fraud"].to_numpy(dtype=np.int64)
    levels = {column: category_levels(frame, column, where=_nowhere) for column in CATEGORIES}
    encoded, _ = category_features(frame, levels)
    plain = feature_matrix(encoded, amount, times)
    derived, names = entity_features(
        times=times,
        amount=amount,
        entities={
            "card": pd.factorize(frame["card_id"])[0],
            "merchant": pd.factorize(frame["merchant_id"])[0],
        },
        fraud_known_at=_seconds(simulated.labels_known_at),
        config=EntityFeatureConfig(entities=("card", "merchant"), risk_entities=("merchant",)),
    )
    cut = int(len(labels) * 0.8)
    splits = {}
    for name, matrix in (("without", plain), ("with", np.hstack([plain, derived]))):
        matrix = FeatureScaler.fit(matrix).transform(matrix)
        splits[name] = Split(matrix[:cut], labels[:cut], matrix[cut:], labels[cut:])
    source = (
        f"simulated raw transactions ({len(labels):,} rows, {labels.mean():.2%} fraud, "
        f"{plain.shape[1]} plain inputs, {len(names)} derived)"
    )
    return splits, source, simulated.scenario


def _by_scenario(scenario: np.ndarray) -> str:
    return "/".join(str(int(np.sum(scenario == kind))) for kind in (1, 2, 3))


def raw_report(*, seeds: list[int], round_size: int, budget: int, customers: int) -> None:
    started = time.perf_counter()
    splits, source, scenario = raw_splits(customers=customers)
    test = splits["with"]
    pool_scenarios = scenario[: len(test.y_pool)]
    print(
        f"data: {source}; pool {len(test.y_pool):,} ({int(test.y_pool.sum())} frauds), test "
        f"{len(test.y_test):,} ({int(test.y_test.sum())} frauds); "
        f"{time.perf_counter() - started:.0f} s to simulate and encode"
    )
    print(
        f"frauds by scenario (large amount / compromised terminal / compromised card): pool "
        f"{_by_scenario(pool_scenarios)}, test {_by_scenario(scenario[len(test.y_pool) :])}"
    )
    settings = dict(round_size=round_size, budget=budget)
    curves: dict[str, list[Curve]] = {
        "baseline (with derived)": [baseline_curve(test, seed=s, **settings) for s in seeds],
    }
    for name, split in splits.items():
        curves[f"fraudloop {name} derived"] = [
            fraudloop_curve(split, seed=s, config=CommitteeConfig(), **settings) for s in seeds
        ]
    # The weak member's classes weighed as the data has them instead of the same in total.
    prior = CommitteeConfig(weak=WeakConfig(class_balance=0.0))
    curves["fraudloop with derived, weak at the prior"] = [
        fraudloop_curve(test, seed=s, config=prior, **settings) for s in seeds
    ]
    for name, runs in curves.items():
        found = [
            _by_scenario(pool_scenarios[c.answered_rows])
            for c in runs
            if c.answered_rows is not None
        ]
        if found:
            print(f"frauds answered by scenario, {name}: " + "; ".join(found))
    chance = float(test.y_test.mean())
    sizes = curves["fraudloop with derived"][0].labels
    print(f"\n{'labels':>6} " + " ".join(f"{name:>26}" for name in curves))
    for row, size in enumerate(sizes):
        if size in (50, 100, 200, 300, 500, 700, 1000) or row == len(sizes) - 1:
            cells = [np.mean([c.ap[row] for c in runs]) for runs in curves.values()]
            print(f"{size:>6} " + " ".join(f"{cell:>26.3f}" for cell in cells))
    areas = {
        name: float(np.mean([area(c.labels, c.ap, chance, budget) for c in runs]))
        for name, runs in curves.items()
    }
    print("\narea under the learning curve: " + ", ".join(f"{n} {a:.3f}" for n, a in areas.items()))
    ceilings = {name: ceiling_scores(split, seed=0) for name, split in splits.items()}
    for name, values in ceilings.items():
        print(f"ceiling {name} derived: " + ", ".join(f"{k} {v:.3f}" for k, v in values.items()))
    last = {name: float(np.mean([c.ap[-1] for c in runs])) for name, runs in curves.items()}
    boosting = next(v for k, v in ceilings["with"].items() if k.startswith("hist_gradient"))
    with_, without = last["fraudloop with derived"], last["fraudloop without derived"]
    print(f"\ntargets (mean over {len(seeds)} seeds, at {sizes[-1]} labels):")
    print(f"  AP with / without derived     {with_ / without:.2f}  (>= 1.5)")
    print(f"  AP with derived / boosting    {with_ / boosting:.3f}  (>= 0.95: within 5%)")
    print(f"\ntotal {(time.perf_counter() - started) / 60:.1f} min")
