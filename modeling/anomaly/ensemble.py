"""The cold-start ranker and the committee's anomaly member: several detectors, each ranking a
row among its own training rows, combined by a mean (weighted, trimmed, or the median) of those
ranks, so that no single detector's unlucky seed decides what annotators see first."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from modeling.anomaly import DETECTORS
from modeling.anomaly.alocc import ALOCCConfig
from modeling.anomaly.autoencoder import AutoencoderConfig
from modeling.anomaly.base import Detector, ScoreRanks
from modeling.anomaly.denoising import DenoisingConfig
from modeling.anomaly.ganomaly import GANomalyConfig
from modeling.anomaly.isolation_forest import IsolationForestConfig
from modeling.anomaly.mahalanobis import MahalanobisConfig
from modeling.anomaly.vae import VAEConfig
from modeling.device import set_seed

COMBINATIONS = ("mean", "trimmed_mean", "median", "max", "fisher")
# Fisher's method reads each rank as a p-value, 1 - rank; the floor keeps a row past every
# training row's score finite (the finest rank level is 1e-5 from the top).
FISHER_FLOOR = 1e-6
RANK_SAMPLE_ROWS = 100_000  # rows the combined score's own ranks are learned from

# The default for inputs that are all measurements (AnomalyConfig.for_inputs says why).
NUMERIC_DEFAULTS = {
    "detectors": ("alocc", "isolation_forest", "mahalanobis"),
    "weights": {"mahalanobis": 2.0},
    "combine": "median",
}


@dataclass
class AnomalyConfig:
    # The default for inputs with categories or cards and merchants (for_inputs has the one for
    # files of numbers). Measured (benchmarks/cold_start.py, 5 seeds, the reference file and
    # generated data, then 3 seeds of simulated raw transactions): one detector of each family
    # (reconstruction, adversarial one-class, isolation) and the weighted median of their
    # ranks, ALOCC counting twice: a row ranks where ALOCC puts it, unless both others
    # disagree, and then half-way to the nearer of them. Alone, the denoising autoencoder fails
    # on the reference file and the forest on generated data; ALOCC is the steadiest on both.
    # On raw transactions with the derived features: 36.3 / 63.7 frauds in the top 50 / 100,
    # the 100-tree forest 30.7 / 51.7.
    detectors: tuple[str, ...] = ("denoising", "alocc", "isolation_forest")
    # A detector not named weighs 1 (in the mean, Fisher's method and the median).
    weights: dict[str, float] = field(default_factory=lambda: {"alocc": 2.0})
    combine: str = "median"  # one of COMBINATIONS
    seed: int = 0
    device: str = "auto"
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    denoising: DenoisingConfig = field(default_factory=DenoisingConfig)
    ganomaly: GANomalyConfig = field(default_factory=GANomalyConfig)
    alocc: ALOCCConfig = field(default_factory=ALOCCConfig)
    isolation_forest: IsolationForestConfig = field(default_factory=IsolationForestConfig)
    mahalanobis: MahalanobisConfig = field(default_factory=MahalanobisConfig)

    @classmethod
    def for_inputs(cls, *, numeric: bool, **changes) -> AnomalyConfig:
        """The measured default for a dataset's inputs: `numeric` when every column is a
        measurement (files of numbers, such as the reference file's PCA components), otherwise
        (categories one-hot, per-card and per-merchant counts) the class defaults above.

        On numbers the robust Mahalanobis distance is the strongest detector and steady over
        seeds, and it leads a weighted median with ALOCC and the forest (benchmarks/cold_start,
        5 seeds, top 50 / 100: reference 48.4 / 85.2 against 39.0 / 73.6, generated 41.6 / 86.6
        against 40.4 / 78.0). On simulated raw transactions it ranks rare categories and bursts
        of counts first and finds 7 frauds in the top 100, so it stays out of the general
        default."""
        if numeric:
            defaults = {**NUMERIC_DEFAULTS, "weights": dict(NUMERIC_DEFAULTS["weights"])}
            changes = {**defaults, **changes}
        return cls(**changes)

    def __post_init__(self):
        unknown = [name for name in self.detectors if name not in DETECTORS]
        if unknown or not self.detectors:
            raise ValueError(
                f"unknown anomaly detectors {unknown or '(none named)'}; "
                f"choose from {', '.join(DETECTORS)}"
            )
        if self.combine not in COMBINATIONS:
            raise ValueError(f"combine must be one of {', '.join(COMBINATIONS)}")

    def detector_config(self, name: str):
        """The named detector's config with this ensemble's seed and device."""
        return replace(getattr(self, name), seed=self.seed, device=self.device)


class AnomalyEnsemble:
    """Fitted detectors, their weights and how their ranks combine."""

    def __init__(
        self,
        detectors: dict[str, Detector],
        *,
        weights: dict[str, float] | None = None,
        combine: str = "mean",
        ranks: ScoreRanks | None = None,
        fit_seconds: dict[str, float] | None = None,
    ):
        self.detectors = detectors
        self.weights = {name: float((weights or {}).get(name, 1.0)) for name in detectors}
        self.combine = combine
        self.ranks = ranks  # the combined score among its training rows
        self.fit_seconds = fit_seconds or {}

    def member_ranks(self, x: np.ndarray) -> dict[str, np.ndarray]:
        return {name: detector.rank(x) for name, detector in self.detectors.items()}

    def combined(self, member_ranks: dict[str, np.ndarray]) -> np.ndarray:
        """One value per row from the detectors' ranks (0 to 1, higher is more unusual)."""
        names = list(self.detectors)
        stacked = np.stack([member_ranks[name] for name in names])
        if self.combine == "median":
            return weighted_median(stacked, [self.weights[name] for name in names])
        if self.combine == "max":
            return stacked.max(axis=0)
        if self.combine == "trimmed_mean" and len(names) >= 3:
            ordered = np.sort(stacked, axis=0)
            return ordered[1:-1].mean(axis=0)  # the most and the least alarmed left out
        weights = np.asarray([self.weights[name] for name in names])[:, None]
        if self.combine == "fisher":
            # The mean of -log p: near the top, where the cold start picks, one detector very
            # sure and the others fairly sure outrank all of them only fairly sure, which a
            # mean or median of ranks (all close to 1 there) cannot tell apart.
            stacked = -np.log(np.clip(1.0 - stacked, 0.0, 1.0) + FISHER_FLOOR)
        return (weights * stacked).sum(axis=0) / weights.sum()

    def anomaly_score(self, x: np.ndarray) -> np.ndarray:
        """The combined rank of each row: what the cold start orders by."""
        return self.combined(self.member_ranks(x))

    def anomaly_rank(self, x: np.ndarray) -> np.ndarray:
        """Share of the training rows whose combined rank is lower: 0 to 1, the same meaning
        from one version to the next."""
        if self.ranks is None:
            raise RuntimeError("this anomaly ensemble is not fitted")
        return self.ranks.rank(self.anomaly_score(x))

    def to_state(self) -> dict:
        return {
            "detectors": {name: d.to_state() for name, d in self.detectors.items()},
            "weights": dict(self.weights),
            "combine": self.combine,
            "quantiles": None if self.ranks is None else self.ranks.quantiles.tolist(),
            "fit_seconds": dict(self.fit_seconds),
        }

    @classmethod
    def from_state(cls, state: dict, *, device: str = "cpu") -> AnomalyEnsemble:
        detectors = {}
        for name, detector_state in state["detectors"].items():
            if name not in DETECTORS:
                raise ValueError(f"the model file names an unknown anomaly detector '{name}'")
            detectors[name] = DETECTORS[name].from_state(detector_state, device=device)
        quantiles = state.get("quantiles")
        return cls(
            detectors,
            weights=state.get("weights"),
            combine=state.get("combine", "mean"),
            ranks=None if quantiles is None else ScoreRanks(np.asarray(quantiles)),
            fit_seconds=state.get("fit_seconds"),
        )


def weighted_median(stacked: np.ndarray, weights: list[float]) -> np.ndarray:
    """Per column of `stacked` (detectors x rows), the value where the weights sorted by value
    reach half their sum; where they reach exactly half, the mean of it and the next one (with
    equal weights: np.median)."""
    order = np.argsort(stacked, axis=0, kind="stable")
    values = np.take_along_axis(stacked, order, axis=0)
    reached = np.cumsum(np.asarray(weights, np.float64)[order], axis=0)
    half = reached[-1] / 2.0
    tolerance = 1e-9 * reached[-1]
    lower = np.argmax(reached >= half - tolerance, axis=0)
    upper = np.argmax(reached > half + tolerance, axis=0)
    columns = np.arange(stacked.shape[1])
    return (values[lower, columns] + values[upper, columns]) / 2.0


def anomaly_ensemble_fit(
    x: np.ndarray,
    config: AnomalyConfig | None = None,
    *,
    on_progress: Callable[[float], None] | None = None,
) -> AnomalyEnsemble:
    """Fits every configured detector on `x` (each on its own seeded sample), timing each, then
    learns the combined score's ranks on a sample of `x`. `on_progress` gets the share done."""
    config = config or AnomalyConfig()
    detectors, seconds = {}, {}
    count = len(config.detectors)
    for index, name in enumerate(config.detectors):
        started = time.perf_counter()
        detector = DETECTORS[name](x.shape[1], config.detector_config(name))
        detector.fit(
            x,
            on_progress=None
            if on_progress is None
            else lambda done, index=index: on_progress((index + done) / count),
        )
        detectors[name] = detector
        seconds[name] = round(time.perf_counter() - started, 3)
    ensemble = AnomalyEnsemble(
        detectors, weights=config.weights, combine=config.combine, fit_seconds=seconds
    )
    rng = set_seed(config.seed)
    sample = x if len(x) <= RANK_SAMPLE_ROWS else x[rng.choice(len(x), RANK_SAMPLE_ROWS, False)]
    ensemble.ranks = ScoreRanks.fit(ensemble.anomaly_score(sample))
    return ensemble
