"""Out-of-fold predictions for the labels a model trained on.

Cross-validation of the weak classifier (fast: about a second per fold) gives each labeled row a
prediction from a model that never saw it. The rows are the ones the committee chose to label,
mostly where it expected fraud, so the figures flatter the model; the honest ones come from the
audit (`modeling.audit_estimate`). These stay for comparison, marked optimistic wherever shown.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.model_selection import StratifiedKFold

from modeling.weak import WeakClassifier, WeakConfig


def out_of_fold_proba(
    x_pool: np.ndarray,
    labeled: np.ndarray,
    labels: np.ndarray,
    *,
    num_classes: int,
    config: WeakConfig | None = None,
    folds: int = 5,
    seed: int = 0,
) -> np.ndarray | None:
    """(len(labeled), K) probabilities, each from a fold that left that row out; None when some
    class has fewer than two labels (no fold could hold one out and still learn it)."""
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=num_classes)
    present = counts[counts > 0]
    if len(present) < 2 or present.min() < 2:
        return None
    splitter = StratifiedKFold(
        n_splits=int(min(folds, present.min())), shuffle=True, random_state=seed
    )
    is_labeled = np.zeros(len(x_pool), bool)
    is_labeled[labeled] = True
    background = x_pool[~is_labeled]
    proba = np.zeros((len(labeled), num_classes))
    config = replace(config or WeakConfig(), seed=seed)
    for train, held_out in splitter.split(np.zeros(len(labels)), labels):
        model = WeakClassifier(num_classes, config)
        # Held-out rows join the unlabeled pool, exactly where they were before a human saw them.
        pool = np.vstack([background, x_pool[labeled[held_out]]])
        model.fit(x_pool[labeled[train]], labels[train], x_unlabeled=pool)
        proba[held_out] = model.predict_proba(x_pool[labeled[held_out]])
    return proba
