"""What every anomaly detector offers: fit on unlabeled rows, score rows (higher is more unusual),
rank a score among its training rows' scores, and a state for the model file."""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from modeling.device import modules_seeded, resolve_device, set_seed

# Rank levels: evenly spaced, then ever finer towards the top, where the cold start picks (the
# first 50 of 200,000 rows are the top 0.025%); an even grid of 1,001 would give every row of
# the top 0.1% the same few ranks.
RANK_LEVELS = np.unique(
    np.concatenate([np.linspace(0.0, 0.99, 991), 1.0 - np.geomspace(0.01, 1e-5, 61), [1.0]])
)

ProgressCallback = Callable[[float], None] | None


@dataclass
class ScoreRanks:
    """A score's rank among the training rows' scores (0 to 1): the same meaning from one
    version to the next, whatever the scale of the detector's score."""

    quantiles: np.ndarray  # the training scores at RANK_LEVELS

    @classmethod
    def fit(cls, scores: np.ndarray) -> ScoreRanks:
        return cls(np.quantile(np.asarray(scores, np.float64), RANK_LEVELS))

    def rank(self, scores: np.ndarray) -> np.ndarray:
        if len(self.quantiles) != len(RANK_LEVELS):
            raise ValueError(f"{len(self.quantiles)} quantiles, expected {len(RANK_LEVELS)}")
        return np.interp(np.asarray(scores, np.float64), self.quantiles, RANK_LEVELS)


class Detector(ABC):
    """One anomaly detector. Subclasses set `name` and `config_class`, and implement `_fit`,
    `score`, `_weights_state` and `_weights_load`."""

    name: str = ""
    config_class: type = object

    def __init__(self, input_size: int, config):
        self.input_size = input_size
        self.config = config
        self.ranks: ScoreRanks | None = None

    def fit(self, x: np.ndarray, *, on_progress: ProgressCallback = None) -> Detector:
        """Fits on a seeded sample of `x` (at most `config.max_rows` rows), then learns how the
        sample's own rows score, for `rank`."""
        rng = set_seed(self.config.seed)
        if len(x) > self.config.max_rows:
            x = x[np.sort(rng.choice(len(x), self.config.max_rows, replace=False))]
        self._fit(np.asarray(x, np.float32), rng=rng, on_progress=on_progress)
        self.ranks = ScoreRanks.fit(self.score(x))
        return self

    @abstractmethod
    def _fit(self, x: np.ndarray, *, rng: np.random.Generator, on_progress) -> None: ...

    @abstractmethod
    def score(self, x: np.ndarray) -> np.ndarray:
        """Higher is more unusual; one value per row."""

    def rank(self, x: np.ndarray) -> np.ndarray:
        """Share of the training rows that score lower than each row: 0 to 1."""
        if self.ranks is None:
            raise RuntimeError(f"the {self.name} detector is not fitted")
        return self.ranks.rank(self.score(x))

    def to_state(self) -> dict:
        if self.ranks is None:
            raise RuntimeError(f"the {self.name} detector is not fitted")
        return {
            "name": self.name,
            "input_size": self.input_size,
            "config": asdict(self.config),
            "quantiles": torch.as_tensor(self.ranks.quantiles),
            "weights": self._weights_state(),
        }

    @classmethod
    def from_state(cls, state: dict, *, device: str = "cpu") -> Detector:
        detector = cls(state["input_size"], cls.config_class(**state["config"]))
        detector._weights_load(state["weights"], device=device)
        detector.ranks = ScoreRanks(state["quantiles"].numpy())
        return detector

    @abstractmethod
    def _weights_state(self) -> dict: ...

    @abstractmethod
    def _weights_load(self, weights: dict, *, device: str) -> None: ...


@dataclass
class NetworkConfig:
    """What the neural detectors share: layer sizes, the training schedule and where to run."""

    hidden: int = 64
    bottleneck: int = 8
    epochs: int = 4
    batch_size: int = 512
    learning_rate: float = 2e-3
    max_rows: int = 100_000  # rows sampled per training; more adds time, not quality
    seed: int = 0
    device: str = "auto"


class NetworkDetector(Detector):
    """A detector made of torch modules (`self.modules`, by name), trained by `_step` on
    shuffled batches of the sample and scored by `_batch_score` in large batches."""

    SCORE_BATCH = 65_536

    def __init__(self, input_size: int, config):
        super().__init__(input_size, config)
        self.modules: dict[str, torch.nn.Module] = modules_seeded(config.seed, self._build)

    @abstractmethod
    def _build(self) -> dict[str, torch.nn.Module]: ...

    @abstractmethod
    def _optimizers(self) -> list[torch.optim.Optimizer]: ...

    @abstractmethod
    def _step(self, batch: torch.Tensor, optimizers: list, generator: torch.Generator) -> None:
        """One training step on one batch."""

    @abstractmethod
    def _batch_score(self, batch: torch.Tensor) -> torch.Tensor: ...

    @property
    def device(self) -> torch.device:
        return next(next(iter(self.modules.values())).parameters()).device

    def _fit(self, x: np.ndarray, *, rng, on_progress) -> None:
        device = resolve_device(self.config.device)
        for module in self.modules.values():
            module.to(device).train()
        data = torch.as_tensor(x, dtype=torch.float32, device=device)
        optimizers = self._optimizers()
        generator = torch.Generator(device="cpu").manual_seed(self.config.seed)
        batch = self.config.batch_size
        for epoch in range(self.config.epochs):
            if on_progress is not None:
                on_progress(epoch / self.config.epochs)
            order = torch.randperm(len(data), generator=generator).to(device)
            for start in range(0, len(data), batch):
                self._step(data[order[start : start + batch]], optimizers, generator)
        for module in self.modules.values():
            module.eval()

    @torch.no_grad()
    def score(self, x: np.ndarray) -> np.ndarray:
        for module in self.modules.values():
            module.eval()
        device = self.device
        scores = [
            self._batch_score(
                torch.as_tensor(x[start : start + self.SCORE_BATCH], dtype=torch.float32).to(device)
            )
            .cpu()
            .numpy()
            for start in range(0, len(x), self.SCORE_BATCH)
        ]
        return np.concatenate(scores).astype(np.float64) if scores else np.zeros(0)

    def _weights_state(self) -> dict:
        return {
            name: {key: value.cpu() for key, value in module.state_dict().items()}
            for name, module in self.modules.items()
        }

    def _weights_load(self, weights: dict, *, device: str) -> None:
        for name, module in self.modules.items():
            module.load_state_dict(weights[name])
            module.to(device).eval()


def mlp(sizes: list[int], *, last_activation: torch.nn.Module | None = None) -> torch.nn.Sequential:
    """Linear layers with ReLU between them (and `last_activation` after the last one)."""
    layers: list[torch.nn.Module] = []
    for index, (size_in, size_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(size_in, size_out))
        if index < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    if last_activation is not None:
        layers.append(last_activation)
    return torch.nn.Sequential(*layers)


def squared_error(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared difference per row."""
    return ((a - b) ** 2).mean(dim=1)


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def real_or_fake_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """A discriminator's loss: logits of real rows towards 1, of made-up rows towards 0."""
    binary = torch.nn.functional.binary_cross_entropy_with_logits
    return binary(real, torch.ones_like(real)) + binary(fake, torch.zeros_like(fake))
