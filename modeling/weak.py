"""The weak classifier: class-balanced logistic regression that also learns from the unlabeled pool.

Fraud is rare, so an unlabeled transaction is legitimate with probability ~0.998. Counting the
unlabeled pool as the background class, weighed as a whole like the labeled examples of that class
(positive-unlabeled learning), gives the model the full picture of legitimate spending that a few
hundred labels cannot; the labeled frauds are then weighed so that each class counts the same.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression


@dataclass
class WeakConfig:
    # Inverse strength of the penalty (scikit-learn's C) against evidence that weighs as much as
    # the labeled rows (see `fit`): with few labels the fit is held back hard and it is let go as
    # labels come, whatever the size of the unlabeled pool. In the label-efficiency benchmark the
    # former scaling (all rows weighing their count, C 0.1) put the weak model at AP 0.09 on the
    # reference file's first 45 labels; held back like this it is at ~0.5 there.
    regularization: float = 1.0
    unlabeled_as_background: bool = True
    background_class: int = 0
    # Share of the background class's weight held by labeled legit rows, the rest going to the
    # unlabeled pool. None: every background row weighs the same. In the label-efficiency
    # benchmark a share of 0.2 or 0.5 lifted AP below 150 labels but lowered the area under the
    # curve (0.665 at 0.2 against 0.675-0.680 with None, SGAN included), so None is the default.
    # (Measured before the penalty was held against the labeled rows' weight.)
    labeled_background_share: float | None = None
    max_unlabeled: int = 100_000  # subsample of the pool per fit; keeps a fit to about a second
    # Each class's total weight goes as (its rows' weight) ** (1 - class_balance): 1 weighs
    # every class the same (fraud is ~0.2% of rows), 0 leaves every row its own weight (the
    # data's prior), between the two a compromise.
    class_balance: float = 1.0
    max_iterations: int = 1000
    seed: int = 0


def class_balanced(y: np.ndarray, weights: np.ndarray, balance: float) -> np.ndarray:
    """Row weights with each class's total going as (its rows' weight) ** (1 - balance): 1 gives
    every class the same total, 0 leaves every row its own weight. Not scaled to any sum."""
    balanced = np.zeros_like(weights, dtype=np.float64)
    for label in np.unique(y):
        members = y == label
        balanced[members] = weights[members] * weights[members].sum() ** -balance
    return balanced


class WeakClassifier:
    def __init__(self, num_classes: int, config: WeakConfig | None = None):
        self.num_classes = num_classes
        self.config = config or WeakConfig()
        self.coefficients = np.zeros((num_classes, 0), np.float32)
        self.intercepts = np.zeros(num_classes, np.float32)
        self.fitted = False

    def fit(
        self,
        x_labeled: np.ndarray,
        y_labeled: np.ndarray,
        *,
        x_unlabeled: np.ndarray | None = None,
        weights: np.ndarray | None = None,
    ) -> WeakClassifier:
        """`weights` scales each labeled row (pseudo-labels get less than 1)."""
        config = self.config
        weights = np.ones(len(y_labeled)) if weights is None else np.asarray(weights, np.float64)
        features, targets, row_weights = [x_labeled], [np.asarray(y_labeled)], [weights]
        is_unlabeled = [np.zeros(len(y_labeled), bool)]
        if config.unlabeled_as_background and x_unlabeled is not None and len(x_unlabeled):
            rng = np.random.default_rng(config.seed)
            if len(x_unlabeled) > config.max_unlabeled:
                x_unlabeled = x_unlabeled[
                    rng.choice(len(x_unlabeled), config.max_unlabeled, replace=False)
                ]
            features.append(x_unlabeled)
            targets.append(np.full(len(x_unlabeled), config.background_class))
            row_weights.append(np.ones(len(x_unlabeled)))
            is_unlabeled.append(np.ones(len(x_unlabeled), bool))
        x = np.vstack(features)
        y = np.concatenate(targets)
        w = np.concatenate(row_weights)
        unlabeled = np.concatenate(is_unlabeled)
        present = np.unique(y)
        if len(present) < 2:
            # One class only: predict it with certainty rather than fail; the caller sees why.
            self.coefficients = np.zeros((self.num_classes, x.shape[1]), np.float32)
            self.intercepts = np.full(self.num_classes, -20.0, np.float32)
            self.intercepts[present[0]] = 20.0
            self.fitted = True
            return self
        background = y == config.background_class
        labeled_background = background & ~unlabeled
        if (
            config.labeled_background_share is not None
            and labeled_background.any()
            and (background & unlabeled).any()
        ):
            share = config.labeled_background_share
            w = w.copy()
            w[labeled_background] *= share / w[labeled_background].sum()
            w[background & unlabeled] *= (1 - share) / w[background & unlabeled].sum()
        # Each class's total weight by `class_balance`, scaled so all rows together weigh what the
        # labeled rows weigh (pseudo-labels at their weight): the unlabeled pool tells the model
        # where legitimate spending lies, but it is no evidence of what fraud looks like, so it
        # must not loosen the penalty as the pool grows.
        balanced = class_balanced(y, w, config.class_balance)
        balanced *= w[~unlabeled].sum() / balanced.sum()
        model = LogisticRegression(C=config.regularization, max_iter=config.max_iterations)
        model.fit(x, y, sample_weight=balanced)
        self.coefficients = np.zeros((self.num_classes, x.shape[1]), np.float32)
        self.intercepts = np.full(self.num_classes, -1e4, np.float32)
        if len(present) == 2:
            # scikit-learn keeps one row for two classes: logit(second) - logit(first).
            self.coefficients[present[1]] = model.coef_[0]
            self.intercepts[present[1]] = model.intercept_[0]
            self.intercepts[present[0]] = 0.0
        else:
            self.coefficients[present] = model.coef_
            self.intercepts[present] = model.intercept_
        self.fitted = True
        return self

    def logits(self, x: np.ndarray) -> np.ndarray:
        return x @ self.coefficients.T + self.intercepts

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(n, K) class probabilities."""
        if not self.fitted:
            raise RuntimeError("the weak classifier has not been fitted")
        logits = self.logits(np.asarray(x, np.float32)).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def to_state(self) -> dict:
        return {
            "config": asdict(self.config),
            "num_classes": self.num_classes,
            "coefficients": self.coefficients.tolist(),
            "intercepts": self.intercepts.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict) -> WeakClassifier:
        model = cls(state["num_classes"], WeakConfig(**state["config"]))
        model.coefficients = np.asarray(state["coefficients"], np.float32).reshape(
            state["num_classes"], -1
        )
        model.intercepts = np.asarray(state["intercepts"], np.float32)
        model.fitted = True
        return model
