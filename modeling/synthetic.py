"""A seeded generator of card transactions with rare, overlapping fraud, for demos and tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SECONDS_PER_DAY = 86_400


@dataclass
class SyntheticTransactions:
    time: np.ndarray  # float64 seconds since the first transaction, increasing
    amount: np.ndarray  # float64, heavy-tailed
    features: np.ndarray  # float32 (rows, features)
    labels: np.ndarray  # int64, 1 = fraud
    feature_names: list[str]


def transactions_synthesize(
    *,
    rows: int = 50_000,
    features: int = 30,
    fraud_rate: float = 0.005,
    seed: int = 0,
    days: float = 2.0,
) -> SyntheticTransactions:
    """Legitimate spending in a few customer segments; fraud in a few patterns plus camouflage.

    Frauds shift a handful of correlated features, some strongly and some barely, so a model
    must combine several features and still misses the camouflaged ones: the task is neither
    trivial nor hopeless, as in real data.
    """
    if rows < 10 or features < 4 or not 0 < fraud_rate < 0.5:
        raise ValueError("need rows >= 10, features >= 4 and 0 < fraud_rate < 0.5")
    rng = np.random.default_rng(seed)
    latent_size = max(3, features // 4)
    mixing = rng.normal(0, 1, (latent_size, features)) / np.sqrt(latent_size)

    fraud_count = max(1, round(rows * fraud_rate))
    labels = np.zeros(rows, dtype=np.int64)
    labels[rng.choice(rows, fraud_count, replace=False)] = 1
    fraud = labels == 1

    segments = rng.normal(0, 1.0, (4, latent_size))
    segment = rng.integers(0, len(segments), rows)
    latent = segments[segment] + rng.normal(0, 1, (rows, latent_size))
    values = latent @ mixing + rng.normal(0, 0.6, (rows, features))

    # Three fraud patterns, each moving a few features; a quarter of frauds barely move.
    patterns = []
    for _ in range(3):
        chosen = rng.choice(features, size=max(3, features // 5), replace=False)
        shift = np.zeros(features)
        shift[chosen] = rng.choice([-1, 1], len(chosen)) * rng.uniform(1.2, 2.6, len(chosen))
        patterns.append(shift)
    fraud_rows = np.flatnonzero(fraud)
    pattern = rng.integers(0, len(patterns), len(fraud_rows))
    strength = np.where(
        rng.random(len(fraud_rows)) < 0.25,
        rng.uniform(0.15, 0.45, len(fraud_rows)),
        rng.uniform(0.7, 1.3, len(fraud_rows)),
    )
    values[fraud_rows] += np.stack(patterns)[pattern] * strength[:, None]
    values[fraud_rows] *= rng.uniform(1.0, 1.5, (len(fraud_rows), 1))
    # Heavy tails, as real PCA components have.
    values += rng.standard_t(4, (rows, features)) * 0.15

    amount = rng.lognormal(3.4, 1.1, rows)
    small_test = rng.random(len(fraud_rows)) < 0.4
    amount[fraud_rows] = np.where(
        small_test,
        rng.lognormal(0.5, 0.6, len(fraud_rows)),
        rng.lognormal(4.6, 1.0, len(fraud_rows)),
    )
    amount = np.round(amount, 2)

    time = np.sort(rng.uniform(0, days * SECONDS_PER_DAY, rows))
    time = np.floor(time - time[0])

    return SyntheticTransactions(
        time=time.astype(np.float64),
        amount=amount.astype(np.float64),
        features=values.astype(np.float32),
        labels=labels,
        feature_names=[f"V{i}" for i in range(1, features + 1)],
    )
