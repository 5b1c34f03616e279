"""The committee's tree member: gradient-boosted trees (scikit-learn's histogram boosting) on the
labeled rows, with a random sample of the unlabeled pool as the background class.

A logistic model adds up its inputs; a card's amount far above its own mean at a merchant
with known frauds is an interaction, which trees learn and a sum cannot. On simulated raw card
transactions with per-card and per-merchant features, the committee alone stopped at AP 0.41
after 1,000 labels; boosting on the same 1,000 labels and 20,000 background rows reached
0.45-0.47 (benchmarks/efficiency_raw.py).

The fitted trees are kept as plain arrays (a node's input, threshold, children and value), so
the model file stays weights-only, and every tree of a block of rows is walked at once in torch
(a step looks up one table of children: 0.62 s per 100k rows on one thread against 0.78 s for a
look-up of each side and a choice, the same scores).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from modeling.weak import class_balanced

SCORE_BLOCK = 2048  # rows walked at once through every tree


@dataclass
class TreesConfig:
    # 100 trees of depth <= 8 scored as well as 200 unbounded ones (AP 0.472 against 0.468 on
    # the raw benchmark's 1,000 labels). Scoring walks every tree one level per step: 200 trees
    # of depth 14 took 6.2 s for 285,000 rows x 40 inputs here, 200 of depth 8 2.7 s.
    iterations: int = 100
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    max_depth: int = 8
    min_samples_leaf: int = 20
    # Unlabeled rows drawn as the background class, each weighing `background_weight` against a
    # labeled row's 1. Measured on 1,000 labels of simulated raw data: 20,000 rows at 0.2-1.0
    # gave AP 0.46-0.47, none 0.42-0.44, 100,000 at 0.05-0.2 0.45.
    background_rows: int = 20_000
    background_weight: float = 0.5
    background_class: int = 0
    # As the weak classifier's: 1 gives every class the same total weight.
    class_balance: float = 1.0
    seed: int = 0


class TreesClassifier:
    def __init__(self, num_classes: int, config: TreesConfig | None = None):
        self.num_classes = num_classes
        self.config = config or TreesConfig()
        self.classes = np.zeros(0, np.int64)  # the classes seen in training, in output order
        self.baseline = np.zeros(0)  # per output: the raw score before any tree
        self.nodes: dict[str, torch.Tensor] = {}
        self.roots = torch.zeros(0, dtype=torch.int64)  # each tree's first node
        self.outputs = torch.zeros(0, dtype=torch.int64)  # the output each tree adds to
        self.depth = 0
        self.fitted = False

    def fit(
        self,
        x_labeled: np.ndarray,
        y_labeled: np.ndarray,
        *,
        x_unlabeled: np.ndarray | None = None,
        weights: np.ndarray | None = None,
    ) -> TreesClassifier:
        """`weights` scales each labeled row (pseudo-labels get less than 1)."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        config = self.config
        y = np.asarray(y_labeled, np.int64)
        w = np.ones(len(y)) if weights is None else np.asarray(weights, np.float64)
        x = np.asarray(x_labeled, np.float64)
        if x_unlabeled is not None and len(x_unlabeled) and config.background_rows > 0:
            rng = np.random.default_rng(config.seed)
            count = min(config.background_rows, len(x_unlabeled))
            drawn = x_unlabeled[np.sort(rng.choice(len(x_unlabeled), count, replace=False))]
            x = np.vstack([x, drawn])
            y = np.concatenate([y, np.full(count, config.background_class)])
            w = np.concatenate([w, np.full(count, config.background_weight)])
        present = np.unique(y)
        self.classes = present
        if len(present) < 2:
            # One class only: predict it with certainty, as the weak classifier does.
            self.baseline = np.zeros(1)
            self.nodes, self.depth = _no_trees(), 0
            self.roots = self.outputs = torch.zeros(0, dtype=torch.int64)
            self.fitted = True
            return self
        balanced = class_balanced(y, w, config.class_balance)
        balanced *= len(balanced) / balanced.sum()
        model = HistGradientBoostingClassifier(
            max_iter=config.iterations,
            learning_rate=config.learning_rate,
            max_leaf_nodes=config.max_leaf_nodes,
            max_depth=config.max_depth,
            min_samples_leaf=config.min_samples_leaf,
            early_stopping=False,
            random_state=config.seed,
        ).fit(x, y, sample_weight=balanced)
        self._keep(model)
        self.fitted = True
        return self

    def _keep(self, model) -> None:
        """The fitted trees as one table of nodes (children as positions in it; a leaf is its
        own child, so walking past it stays there)."""
        tables, roots, outputs = [], [], []
        start = 0
        for iteration in model._predictors:
            for output, predictor in enumerate(iteration):
                nodes = predictor.nodes
                roots.append(start)
                outputs.append(output)
                tables.append((nodes, start))
                start += len(nodes)
        feature = np.zeros(start, np.int64)
        threshold = np.zeros(start, np.float64)
        left = np.zeros(start, np.int64)
        right = np.zeros(start, np.int64)
        value = np.zeros(start, np.float64)
        depth = 0
        for nodes, first in tables:
            places = np.arange(first, first + len(nodes))
            leaf = nodes["is_leaf"].astype(bool)
            feature[places] = nodes["feature_idx"]
            threshold[places] = nodes["num_threshold"]
            left[places] = np.where(leaf, places, first + nodes["left"].astype(np.int64))
            right[places] = np.where(leaf, places, first + nodes["right"].astype(np.int64))
            value[places] = np.where(leaf, nodes["value"], 0.0)
            depth = max(depth, int(nodes["depth"].max()))
        self.nodes = {
            name: torch.as_tensor(values)
            for name, values in (
                ("feature", feature),
                ("threshold", threshold),
                ("left", left),
                ("right", right),
                ("value", value),
            )
        }
        self.roots = torch.as_tensor(np.asarray(roots, np.int64))
        self.outputs = torch.as_tensor(np.asarray(outputs, np.int64))
        self.baseline = np.asarray(model._baseline_prediction, np.float64).reshape(-1)
        self.depth = depth

    @torch.no_grad()
    def raw_scores(self, x: np.ndarray) -> np.ndarray:
        """(n, outputs): the baseline plus every tree's leaf value for each row (one output, the
        log-odds of the second class, for two classes)."""
        rows = torch.as_tensor(np.asarray(x, np.float64))
        outputs = len(self.baseline)
        totals = np.tile(self.baseline, (len(rows), 1))
        if not len(self.roots):
            return totals
        nodes = self.nodes
        # Node n's children at 2n (left) and 2n + 1: a step is one look-up, not two and a choice.
        children = torch.stack([nodes["left"], nodes["right"]], dim=1).reshape(-1)
        for start in range(0, len(rows), SCORE_BLOCK):
            block = rows[start : start + SCORE_BLOCK]
            place = self.roots.repeat(len(block), 1)  # (rows, trees)
            for _ in range(self.depth):
                values = torch.gather(block, 1, nodes["feature"][place])
                goes_right = ~(values <= nodes["threshold"][place])  # a missing value: right
                place = children[place.mul_(2).add_(goes_right)]
            values = nodes["value"][place]
            summed = torch.zeros((len(block), outputs), dtype=torch.float64)
            summed.index_add_(1, self.outputs, values)
            totals[start : start + len(block)] += summed.numpy()
        return totals

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(n, K) class probabilities; a class never seen in training gets none."""
        if not self.fitted:
            raise RuntimeError("the tree member has not been fitted")
        proba = np.zeros((len(x), self.num_classes))
        if len(self.classes) < 2:
            proba[:, self.classes[0]] = 1.0
            return proba
        raw = self.raw_scores(x)
        if len(self.classes) == 2:
            positive = 1.0 / (1.0 + np.exp(-raw[:, 0]))
            proba[:, self.classes[1]] = positive
            proba[:, self.classes[0]] = 1.0 - positive
            return proba
        raw -= raw.max(axis=1, keepdims=True)
        exp = np.exp(raw)
        proba[:, self.classes] = exp / exp.sum(axis=1, keepdims=True)
        return proba

    def to_state(self) -> dict:
        return {
            "config": asdict(self.config),
            "num_classes": self.num_classes,
            "classes": torch.as_tensor(self.classes),
            "baseline": torch.as_tensor(self.baseline),
            "nodes": {name: values.clone() for name, values in self.nodes.items()},
            "roots": self.roots.clone(),
            "outputs": self.outputs.clone(),
            "depth": self.depth,
        }

    @classmethod
    def from_state(cls, state: dict) -> TreesClassifier:
        model = cls(int(state["num_classes"]), TreesConfig(**state["config"]))
        model.classes = state["classes"].numpy().astype(np.int64)
        model.baseline = state["baseline"].numpy().astype(np.float64)
        model.nodes = {name: state["nodes"][name] for name in _NODE_FIELDS}
        model.roots, model.outputs = state["roots"], state["outputs"]
        model.depth = int(state["depth"])
        if len(model.roots) != len(model.outputs) or not len(model.classes):
            raise ValueError("the tree member's tables do not match")
        model.fitted = True
        return model


_NODE_FIELDS = ("feature", "threshold", "left", "right", "value")


def _no_trees() -> dict[str, torch.Tensor]:
    return {name: torch.zeros(0, dtype=torch.float64) for name in _NODE_FIELDS}
