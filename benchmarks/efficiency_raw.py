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
from dataclasses import dataclass

import numpy as np
import pandas as pd
from efficiency_fraudloop import fraudloop_curve
from efficiency_strategies import Curve, Split, area, at, baseline_curve, ceiling_scores

from labeler.services.import_columns import category_features, category_levels
from modeling.acquisition import AcquisitionConfig
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


@dataclass
class RawSplits:
    splits: dict[str, Split]  # "without" and "with" the derived features
    source: str
    scenario: np.ndarray  # each row's fraud scenario (0: legitimate), pool rows first
    # Pool positions of the frauds whose chargeback is known by the pool's last transaction:
    # what an issuer would have imported as trusted labels by then.
    charged_back: np.ndarray
    # Per pool row, its merchant's known fraud rate (the mean of the risk windows, unscaled).
    merchant_risk: np.ndarray


def raw_splits(*, customers: int, seed: int = 11) -> RawSplits:
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
    known = _seconds(simulated.labels_known_at)  # NaN for a legitimate row
    charged_back = np.flatnonzero(known[:cut] <= times[cut - 1])
    risk = [column for column, name in enumerate(names) if name.startswith("merchant_risk_")]
    merchant_risk = derived[:cut, risk].mean(axis=1)
    return RawSplits(splits, source, simulated.scenario, charged_back, merchant_risk)


def _by_scenario(scenario: np.ndarray) -> str:
    return "/".join(str(int(np.sum(scenario == kind))) for kind in (1, 2, 3))


@dataclass(frozen=True)
class Variant:
    input: str  # "with" or "without" the derived features
    committee: CommitteeConfig
    chargebacks: bool = False  # the chargebacks known by the pool's end as trusted labels
    acquisition: AcquisitionConfig | None = None  # None: the product's


VARIANTS = {
    "fraudloop without derived": Variant("without", CommitteeConfig()),
    "fraudloop with derived": Variant("with", CommitteeConfig()),
    # The weak member's classes weighed as the data has them instead of the same in total.
    "fraudloop with derived, weak at the prior": Variant(
        "with", CommitteeConfig(weak=WeakConfig(class_balance=0.0))
    ),
    # The chargebacks known by the pool's end imported as trusted labels, as the product trains
    # on them; the labels counted are still people's only.
    "fraudloop with derived and chargebacks": Variant("with", CommitteeConfig(), True),
    "fraudloop without derived and chargebacks": Variant("without", CommitteeConfig(), True),
    "fraudloop with derived and chargebacks, weak at the prior": Variant(
        "with", CommitteeConfig(weak=WeakConfig(class_balance=0.0)), True
    ),
    # The committee without its boosted-tree member (modeling/trees.py), as before stop 35.
    "fraudloop with derived, no trees": Variant("with", CommitteeConfig(use_trees=False)),
    # A tenth of each round from the rows whose merchant had frauds known shortly before them.
    "fraudloop with derived, merchant-risk picks": Variant(
        "with", CommitteeConfig(), acquisition=AcquisitionConfig(entity_risk_share=0.1)
    ),
}
# The target's ratio: with the derived features against without, the rest the same.
PAIRS = (
    ("fraudloop with derived", "fraudloop without derived"),
    ("fraudloop with derived and chargebacks", "fraudloop without derived and chargebacks"),
)
DEFAULT_VARIANTS = ("fraudloop without derived", "fraudloop with derived")


def raw_report(
    *,
    seeds: list[int],
    round_size: int,
    budget: int,
    customers: int,
    variants: tuple[str, ...] = DEFAULT_VARIANTS,
) -> None:
    started = time.perf_counter()
    raw = raw_splits(customers=customers)
    test, pool_size = raw.splits["with"], len(raw.splits["with"].y_pool)
    print(
        f"data: {raw.source}; pool {pool_size:,} ({int(test.y_pool.sum())} frauds, "
        f"{len(raw.charged_back)} charged back by its end), test {len(test.y_test):,} "
        f"({int(test.y_test.sum())} frauds); "
        f"{time.perf_counter() - started:.0f} s to simulate and encode"
    )
    print(
        f"frauds by scenario (large amount / compromised terminal / compromised card): pool "
        f"{_by_scenario(raw.scenario[:pool_size])}, test {_by_scenario(raw.scenario[pool_size:])}"
    )
    settings = dict(round_size=round_size, budget=budget)
    curves: dict[str, list[Curve]] = {
        "baseline (with derived)": [baseline_curve(test, seed=s, **settings) for s in seeds],
    }
    for name in variants:
        variant = VARIANTS[name]
        curves[name] = [
            fraudloop_curve(
                raw.splits[variant.input],
                seed=s,
                config=variant.committee,
                trusted=raw.charged_back if variant.chargebacks else None,
                acquisition=variant.acquisition,
                entity_risk=raw.merchant_risk if variant.acquisition else None,
                numeric=False,  # one-hot categories (and, with, derived counts)
                **settings,
            )
            for s in seeds
        ]
        found = "; ".join(_by_scenario(raw.scenario[c.answered_rows]) for c in curves[name])
        print(f"frauds people answered by scenario, {name}: {found}", flush=True)
    chance = float(test.y_test.mean())
    sizes = (
        curves[variants[0]][0].labels if variants else curves["baseline (with derived)"][0].labels
    )
    shown = [row for row, n in enumerate(sizes) if n in (50, 100, 300, 500, 1000)]
    print(f"\nmean test AP at {', '.join(str(sizes[row]) for row in shown)} labels, and the area:")
    areas = {}
    for name, runs in curves.items():
        areas[name] = float(np.mean([area(c.labels, c.ap, chance, budget) for c in runs]))
        cells = " ".join(f"{np.mean([at(c.ap, row) for c in runs]):.3f}" for row in shown)
        print(f"  {name:<58} {cells}   area {areas[name]:.3f}")
    ceilings = {name: ceiling_scores(split, seed=0) for name, split in raw.splits.items()}
    for name, values in ceilings.items():
        print(f"ceiling {name} derived: " + ", ".join(f"{k} {v:.3f}" for k, v in values.items()))
    last = {name: float(np.mean([c.ap[-1] for c in runs])) for name, runs in curves.items()}
    boosting = next(v for k, v in ceilings["with"].items() if k.startswith("hist_gradient"))
    print(f"\ntargets (mean over {len(seeds)} seeds, at {sizes[-1]} labels):")
    for pair in PAIRS:
        if set(pair) <= set(last):
            ratio = last[pair[0]] / last[pair[1]]
            print(f"  AP {pair[0]} / {pair[1]}: {ratio:.2f}  (>= 1.5)")
    for name in variants:
        if VARIANTS[name].input == "with":
            print(f"  {name} / boosting: {last[name] / boosting:.3f}  (>= 0.95: within 5%)")
    print(f"\ntotal {(time.perf_counter() - started) / 60:.1f} min")
