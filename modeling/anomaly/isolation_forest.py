"""The isolation forest (Liu et al., 2008; scikit-learn's): random trees on small samples, an
unusual row being isolated in few splits. Fitted with scikit-learn; its trees are kept as plain
arrays, so the model file stays weights-only (no pickled objects), and scored in torch.

Each tree is laid out as a complete binary tree of the forest's depth (a leaf above the bottom
passes every row to the left below it), so scoring walks every tree of a block of rows in the
same few steps: as fast as scikit-learn's own, where a walk node by node in NumPy took 6 times
as long (285,000 rows, 300 trees: 3.4 s against 3.1 s and 18 s). In float32 with the walk's
places kept global, 1.19 s per 100,000 rows on one thread against 1.55 s in float64."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from modeling.anomaly.base import Detector

EULER_GAMMA = 0.5772156649015329
SCORE_BLOCK = 1024  # rows walked at once: every tree of a block stays in the cache


@dataclass
class IsolationForestConfig:
    # 300 trees: with scikit-learn's default of 100 the forest's top 50 varied from 18 to 45
    # frauds over 5 seeds on the reference file; with 300, from 23 to 42 (benchmarks/cold_start).
    trees: int = 300
    samples_per_tree: int = 256
    max_rows: int = 100_000  # rows the trees' samples are drawn from
    seed: int = 0
    device: str = "auto"  # unused: the forest runs on the CPU


def average_path_length(samples: np.ndarray) -> np.ndarray:
    """The mean depth at which an unsuccessful search ends in a binary tree of `samples` rows:
    what a leaf of that many rows adds to a path (scikit-learn's `_average_path_length`)."""
    samples = np.asarray(samples, np.float64)
    length = np.zeros_like(samples)
    length[samples == 2] = 1.0
    many = samples > 2
    n = samples[many]
    length[many] = 2.0 * (np.log(n - 1.0) + EULER_GAMMA) - 2.0 * (n - 1.0) / n
    return length


def _complete_tree(tree, depth: int):
    """(feature, threshold) of the 2**depth - 1 inner places and the path length at each of
    the 2**depth bottom places, in heap order (place p's children: 2p + 1, 2p + 2)."""
    inner = 2**depth - 1
    feature = np.zeros(inner, np.int64)
    threshold = np.full(inner, np.inf)  # a padded place sends every row left
    length = np.zeros(2**depth)
    waiting = [(0, 0, 0)]  # (node, place, level)
    while waiting:
        node, place, level = waiting.pop()
        if tree.children_left[node] < 0:
            first = last = place
            for _ in range(depth - level):
                first, last = 2 * first + 1, 2 * last + 2
            extra = average_path_length(np.asarray([tree.n_node_samples[node]]))[0]
            length[first - inner : last - inner + 1] = level + extra
            continue
        feature[place], threshold[place] = tree.feature[node], tree.threshold[node]
        waiting.append((tree.children_left[node], 2 * place + 1, level + 1))
        waiting.append((tree.children_right[node], 2 * place + 2, level + 1))
    return feature, threshold, length


def _float32_below(threshold: torch.Tensor) -> torch.Tensor:
    """Each threshold as the largest float32 at or below it: a float32 value is above the one
    exactly when it is above the other."""
    exact = threshold.reshape(-1).numpy().astype(np.float64)
    rounded = exact.astype(np.float32)
    above = rounded.astype(np.float64) > exact
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return torch.as_tensor(rounded)


class IsolationForestDetector(Detector):
    name = "isolation_forest"
    config_class = IsolationForestConfig

    def __init__(self, input_size: int, config: IsolationForestConfig):
        super().__init__(input_size, config)
        self.trees: dict[str, torch.Tensor] = {}
        self.depth = 0
        self.samples_per_tree = 0

    def _fit(self, x: np.ndarray, *, rng, on_progress) -> None:
        from sklearn.ensemble import IsolationForest

        if on_progress is not None:
            on_progress(0.0)
        forest = IsolationForest(
            n_estimators=self.config.trees,
            max_samples=min(self.config.samples_per_tree, len(x)),
            random_state=self.config.seed,
            n_jobs=1,
        ).fit(x)  # every tree sees every column (max_features=1.0): no column mapping
        self.depth = max(1, max(tree.tree_.max_depth for tree in forest.estimators_))
        parts = [_complete_tree(tree.tree_, self.depth) for tree in forest.estimators_]
        self.trees = {
            name: torch.as_tensor(np.stack([part[index] for part in parts]))
            for index, name in enumerate(("feature", "threshold", "length"))
        }
        self.samples_per_tree = int(forest.max_samples_)

    @torch.no_grad()
    def score(self, x: np.ndarray) -> np.ndarray:
        """2 ** (-mean path length / its expectation): near 1 for rows isolated at once, near
        0.5 or below for ordinary rows (the negative of scikit-learn's `score_samples`).

        Rows are compared in float32, as scikit-learn's trees compare them, with each threshold
        rounded down to a float32 (the same comparison, exactly, in half the memory). A row's
        walk keeps its place in the whole forest's arrays: tree t's place p is t * inner + p,
        so a step is 2 * at + (1 - t * inner) + goes_right, with no per-tree offset added back."""
        trees, depth = self.trees, self.depth
        count, inner = trees["feature"].shape
        feature, threshold = trees["feature"].reshape(-1), _float32_below(trees["threshold"])
        length = trees["length"].reshape(-1)
        first_inner = torch.arange(count) * inner
        step = 1 - first_inner
        # A bottom place t * inner + p (p from inner to 2 * inner) -> its path length's index.
        to_length = torch.arange(count) * (inner + 1) - inner - first_inner
        rows = torch.as_tensor(np.asarray(x, np.float32))
        totals = []
        for start in range(0, len(rows), SCORE_BLOCK):
            block = rows[start : start + SCORE_BLOCK]
            at = first_inner.repeat(len(block), 1)
            for _ in range(depth):
                goes_right = torch.gather(block, 1, feature[at]) > threshold[at]
                at.mul_(2).add_(step).add_(goes_right)
            totals.append(length[at + to_length].sum(dim=1))
        total = torch.cat(totals).numpy() if totals else np.zeros(0)
        expected = average_path_length(np.asarray([self.samples_per_tree]))[0]
        return 2.0 ** (-(total / count) / expected)

    def _weights_state(self) -> dict:
        return {
            **{name: values.clone() for name, values in self.trees.items()},
            "depth": self.depth,
            "samples_per_tree": self.samples_per_tree,
        }

    def _weights_load(self, weights: dict, *, device: str) -> None:
        self.depth = int(weights["depth"])
        self.samples_per_tree = int(weights["samples_per_tree"])
        self.trees = {name: weights[name] for name in ("feature", "threshold", "length")}
