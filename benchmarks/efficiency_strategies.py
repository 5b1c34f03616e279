"""The strategies label_efficiency.py compares: random, the simple baseline, the ceiling
(fraudloop's own curve is in efficiency_fraudloop.py).

Each labeling strategy returns one curve: test AP after every round of 50 oracle labels, and how
many frauds its queries found so far.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from modeling.weak import WeakClassifier, WeakConfig


@dataclass
class RawData:
    """Transactions as a file holds them, in time order."""

    features: np.ndarray
    amount: np.ndarray
    seconds: np.ndarray
    labels: np.ndarray

    def part(self, rows: slice) -> RawData:
        return RawData(
            self.features[rows], self.amount[rows], self.seconds[rows], self.labels[rows]
        )


@dataclass
class Split:
    x_pool: np.ndarray
    y_pool: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass
class Curve:
    labels: list[int] = field(default_factory=list)
    ap: list[float] = field(default_factory=list)
    frauds_found: list[int] = field(default_factory=list)
    seconds: float = 0.0
    member_seconds: dict[str, float] = field(default_factory=dict)  # training time by member
    sgan_share: list[float] = field(default_factory=list)  # the committee's, per round (nan: none)
    anomaly_share: list[float] = field(default_factory=list)  # the same for the anomaly member
    trees_share: list[float] = field(default_factory=list)  # the same for the tree member
    # The version's audit estimate of AP ({value, low, high}; None while too few audit labels),
    # and how many of the labels so far went to the audit.
    estimates: list[dict | None] = field(default_factory=list)
    audit_labels: list[int] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)  # answers by queue reason (product)
    answered_rows: np.ndarray | None = None  # pool positions people answered, when known


def area(curve_labels: list[int], ap: list[float], start_ap: float, budget: int) -> float:
    """Area under AP against labels, 0 to budget, scaled to [0, 1]."""
    xs = np.array([0, *curve_labels], float)
    ys = np.array([start_ap, *ap], float)
    return float(np.trapezoid(ys, xs) / budget)


def at(values: list, row: int) -> float:
    """A curve's value at a row of the table; NaN where the curve has no such row."""
    return values[row] if row < len(values) else float("nan")


def test_ap(split: Split, scores: np.ndarray) -> float:
    return float(average_precision_score(split.y_test, scores))


def random_curves(split: Split, *, draws: int, round_size: int, budget: int, seed: int) -> Curve:
    """Mean over `draws` random orders, each scored by a class-balanced logistic regression."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    sizes = list(range(round_size, budget + 1, round_size))
    ap = np.zeros((draws, len(sizes)))
    found = np.zeros((draws, len(sizes)))
    prevalence_ap = float(np.mean(split.y_test))
    for draw in range(draws):
        order = rng.choice(len(split.y_pool), budget, replace=False)
        for column, size in enumerate(sizes):
            y = split.y_pool[order[:size]]
            found[draw, column] = y.sum()
            if 0 < y.sum() < size:
                model = LogisticRegression(class_weight="balanced", max_iter=1000)
                model.fit(split.x_pool[order[:size]], y)
                ap[draw, column] = test_ap(split, model.predict_proba(split.x_test)[:, 1])
            else:
                ap[draw, column] = prevalence_ap  # one class only: no better than chance
    return Curve(
        sizes, ap.mean(axis=0).tolist(), found.mean(axis=0).tolist(), time.perf_counter() - started
    )


def baseline_curve(split: Split, *, round_size: int, budget: int, seed: int) -> Curve:
    """Isolation forest for the first round, then a class-balanced logistic regression each
    round: half the highest probabilities, half the closest to the decision boundary."""
    started = time.perf_counter()
    curve = Curve()
    forest = IsolationForest(n_estimators=100, random_state=seed).fit(split.x_pool)
    labeled = np.zeros(len(split.y_pool), bool)
    labeled[np.argsort(forest.score_samples(split.x_pool), kind="stable")[:round_size]] = (
        True  # most anomalous
    )
    while True:
        y = split.y_pool[labeled]
        if 0 < y.sum() < len(y):
            model = LogisticRegression(class_weight="balanced", max_iter=1000, random_state=seed)
            model.fit(split.x_pool[labeled], y)
            pool_p, test_p = (
                model.predict_proba(split.x_pool)[:, 1],
                model.predict_proba(split.x_test)[:, 1],
            )
        else:
            pool_p = -forest.score_samples(split.x_pool)
            test_p = -forest.score_samples(split.x_test)
        curve.labels.append(int(labeled.sum()))
        curve.ap.append(test_ap(split, test_p))
        curve.frauds_found.append(int(y.sum()))
        if labeled.sum() >= budget:
            break
        unlabeled = np.flatnonzero(~labeled)
        top = unlabeled[np.argsort(-pool_p[unlabeled], kind="stable")[: round_size // 2]]
        rest = np.setdiff1d(unlabeled, top)
        boundary = rest[
            np.argsort(np.abs(pool_p[rest] - 0.5), kind="stable")[: round_size - len(top)]
        ]
        labeled[top] = labeled[boundary] = True
    curve.seconds = time.perf_counter() - started
    return curve


def _mlp_fit_predict(split: Split, seed: int, epochs: int = 30) -> np.ndarray:
    """A two-layer MLP with class-balanced batches, to convergence (best epoch on a time split)."""
    torch.manual_seed(seed)
    cut = int(len(split.y_pool) * 0.85)
    x_train = torch.as_tensor(split.x_pool[:cut])
    y_train = torch.as_tensor(split.y_pool[:cut])
    model = torch.nn.Sequential(
        torch.nn.Linear(x_train.shape[1], 128),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(128, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 1),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    positive_weight = ((len(y_train) - y_train.sum()) / y_train.sum().clamp(min=1)).float()
    best, best_state = -1.0, None
    for _ in range(epochs):
        model.train()
        for index in torch.randperm(len(x_train)).split(1024):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model(x_train[index]).squeeze(1), y_train[index].float(), pos_weight=positive_weight
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            validation = model(torch.as_tensor(split.x_pool[cut:])).squeeze(1).numpy()
        ap = float(average_precision_score(split.y_pool[cut:], validation))
        if ap > best:
            best, best_state = ap, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    with torch.no_grad():
        return torch.sigmoid(model(torch.as_tensor(split.x_test)).squeeze(1)).numpy()


def ceiling_scores(split: Split, seed: int) -> dict[str, float]:
    """Fully supervised models on every pool label; iterations tuned on a time split of the pool."""
    results = {}
    cut = int(len(split.y_pool) * 0.85)
    best_iterations, best_validation = 100, -1.0

    def boosting(iterations: int) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            max_iter=iterations,
            learning_rate=0.05,
            class_weight="balanced",
            early_stopping=False,
            random_state=seed,
        )

    for iterations in (100, 300, 600):
        model = boosting(iterations).fit(split.x_pool[:cut], split.y_pool[:cut])
        validation = average_precision_score(
            split.y_pool[cut:], model.predict_proba(split.x_pool[cut:])[:, 1]
        )
        if validation > best_validation:
            best_iterations, best_validation = iterations, validation
    model = boosting(best_iterations)
    model.fit(split.x_pool, split.y_pool)
    results[f"hist_gradient_boosting ({best_iterations} iterations)"] = test_ap(
        split, model.predict_proba(split.x_test)[:, 1]
    )
    for name, balance in (("weak (all labels)", 1.0), ("weak at the prior (all labels)", 0.0)):
        config = WeakConfig(unlabeled_as_background=False, seed=seed, class_balance=balance)
        weak = WeakClassifier(2, config).fit(split.x_pool, split.y_pool)
        results[name] = test_ap(split, weak.predict_proba(split.x_test)[:, 1])
    results["mlp"] = test_ap(split, _mlp_fit_predict(split, seed))
    return results
