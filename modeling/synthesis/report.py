"""The report beside a synthetic table: fidelity (is each column, and the columns together,
shaped like the real ones; can a classifier tell real from generated), utility (does a model
trained on generated rows do on later real rows what one trained on real rows does) and privacy
(see privacy.py). Each figure comes with the threshold it is held to."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, roc_auc_score

from modeling.synthesis.privacy import PrivacyFigures
from modeling.synthesis.table import NumericColumn, TableEncoder

FIDELITY_MAX_AUC = 0.75  # a classifier telling real from generated; 0.5 is ideal
UTILITY_MIN_RATIO = 0.8  # train-synthetic-test-real AP over train-real-test-real AP


@dataclass
class FidelityFigures:
    columns: dict[str, float]  # KS statistic (numeric) or total variation (categorical)
    correlation_difference_mean: float  # mean |corr(real) - corr(synthetic)| off the diagonal
    correlation_difference_max: float
    real_vs_synthetic_auc: float
    rows_compared: int

    @property
    def passed(self) -> bool:
        return self.real_vs_synthetic_auc <= FIDELITY_MAX_AUC


@dataclass
class UtilityFigures:
    train_synthetic_ap: float  # TSTR
    train_real_ap: float  # TRTR
    test_rows: int
    test_positives: int

    @property
    def ratio(self) -> float:
        return self.train_synthetic_ap / self.train_real_ap if self.train_real_ap > 0 else 0.0

    @property
    def passed(self) -> bool:
        return self.ratio >= UTILITY_MIN_RATIO


@dataclass
class SynthesisReport:
    generator: str
    rows: int
    class_counts: dict[str, int]
    fidelity: FidelityFigures
    privacy: PrivacyFigures
    utility: UtilityFigures | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        result = asdict(self)
        result["fidelity"]["passed"] = self.fidelity.passed
        result["privacy"]["passed"] = self.privacy.passed
        if self.utility is not None:
            result["utility"]["ratio"] = self.utility.ratio
            result["utility"]["passed"] = self.utility.passed
        result["thresholds"] = {
            "real_vs_synthetic_auc_at_most": FIDELITY_MAX_AUC,
            "utility_ratio_at_least": UTILITY_MIN_RATIO,
            "privacy_share_closer_at_most": 0.01,
        }
        return result


def _model_matrix(encoder: TableEncoder, table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Numbers as they are, categories as their codes (the boosting model splits on codes)."""
    parts = []
    for column in encoder.columns:
        if column.name not in columns:
            continue
        values = table[column.name]
        if isinstance(column, NumericColumn):
            parts.append(values.to_numpy(np.float64))
        else:
            index = {category: code for code, category in enumerate(column.categories)}
            parts.append(values.astype(str).map(index).fillna(-1).to_numpy(np.float64))
    return np.column_stack(parts) if parts else np.zeros((len(table), 0))


def _boosting(seed: int, *, rare_class: bool = False) -> HistGradientBoostingClassifier:
    """For a rare class (the utility models), the label-efficiency benchmark's ceiling: slower
    learning, balanced classes, no early stopping on a random 10% holding three frauds."""
    if rare_class:
        return HistGradientBoostingClassifier(
            max_iter=300,
            learning_rate=0.05,
            class_weight="balanced",
            early_stopping=False,
            random_state=seed,
        )
    return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=seed)


def fidelity_figures(
    encoder: TableEncoder,
    real: pd.DataFrame,
    real_classes: np.ndarray,
    synthetic: pd.DataFrame,
    synthetic_classes: np.ndarray,
    *,
    sample: int = 20_000,
    seed: int = 0,
) -> FidelityFigures:
    rng = np.random.default_rng(seed)
    columns: dict[str, float] = {}
    for column in encoder.columns:
        real_values, synthetic_values = real[column.name], synthetic[column.name]
        if isinstance(column, NumericColumn):
            columns[column.name] = float(ks_2samp(real_values, synthetic_values).statistic)
        else:
            real_share = real_values.astype(str).value_counts(normalize=True)
            synthetic_share = synthetic_values.astype(str).value_counts(normalize=True)
            joined = pd.concat([real_share, synthetic_share], axis=1).fillna(0.0)
            columns[column.name] = float(0.5 * (joined.iloc[:, 0] - joined.iloc[:, 1]).abs().sum())
    numeric = encoder.numeric_positions()
    real_encoded, synthetic_encoded = encoder.encode(real), encoder.encode(synthetic)
    if len(numeric) > 1:
        difference = np.abs(
            np.corrcoef(real_encoded[:, numeric], rowvar=False)
            - np.corrcoef(synthetic_encoded[:, numeric], rowvar=False)
        )
        off_diagonal = difference[~np.eye(len(numeric), dtype=bool)]
        correlation_mean, correlation_max = float(off_diagonal.mean()), float(off_diagonal.max())
    else:
        correlation_mean = correlation_max = 0.0
    # Real against generated, the class included (the joint shape is what must match), on as
    # many rows of each, half of them to fit and half to score.
    size = min(sample, len(real), len(synthetic))
    real_picks = rng.choice(len(real), size, replace=False)
    synthetic_picks = rng.choice(len(synthetic), size, replace=False)
    features = np.vstack(
        [
            np.column_stack(
                [
                    _model_matrix(encoder, real.iloc[real_picks], encoder.names),
                    real_classes[real_picks],
                ]
            ),
            np.column_stack(
                [
                    _model_matrix(encoder, synthetic.iloc[synthetic_picks], encoder.names),
                    synthetic_classes[synthetic_picks],
                ]
            ),
        ]
    )
    is_synthetic = np.repeat([0, 1], size)
    halves = rng.permutation(2 * size) % 2 == 0
    classifier = _boosting(seed).fit(features[halves], is_synthetic[halves])
    auc = roc_auc_score(is_synthetic[~halves], classifier.predict_proba(features[~halves])[:, 1])
    return FidelityFigures(
        columns=columns,
        correlation_difference_mean=correlation_mean,
        correlation_difference_max=correlation_max,
        real_vs_synthetic_auc=float(max(auc, 1.0 - auc) if size else 0.5),
        rows_compared=int(size),
    )


def utility_figures(
    encoder: TableEncoder,
    *,
    real_train: pd.DataFrame,
    real_train_classes: np.ndarray,
    synthetic: pd.DataFrame,
    synthetic_classes: np.ndarray,
    real_test: pd.DataFrame,
    real_test_classes: np.ndarray,
    columns: list[str],
    positive_class: int = 1,
    seed: int = 0,
) -> UtilityFigures:
    """AP on the later real rows of boosting trained on generated rows (TSTR) and on the real
    rows the generator learned from (TRTR), both on `columns` (leave the time out: the test
    rows all lie after the training ones)."""
    test_matrix = _model_matrix(encoder, real_test, columns)
    test_labels = (np.asarray(real_test_classes) == positive_class).astype(int)
    scores = {}
    for name, table, classes in (
        ("synthetic", synthetic, synthetic_classes),
        ("real", real_train, real_train_classes),
    ):
        labels = (np.asarray(classes) == positive_class).astype(int)
        if labels.min(initial=1) == labels.max(initial=0):
            scores[name] = 0.0
            continue
        model = _boosting(seed, rare_class=True).fit(_model_matrix(encoder, table, columns), labels)
        scores[name] = float(
            average_precision_score(test_labels, model.predict_proba(test_matrix)[:, 1])
        )
    return UtilityFigures(
        train_synthetic_ap=scores["synthetic"],
        train_real_ap=scores["real"],
        test_rows=len(test_labels),
        test_positives=int(test_labels.sum()),
    )
