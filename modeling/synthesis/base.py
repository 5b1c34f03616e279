"""What every generator offers (`RowGenerator`): fit on an encoded table with each row's class,
draw rows for the classes asked for, and a state for the model file. The networks
(`ConditionalGenerator`) draw their training batches with the rare classes over-represented
(`class_balance`), as CTGAN's training-by-sampling does, so a class of 0.2% of the rows is still
learned; the class is the condition, so the share asked for at sampling time is the share
written."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from modeling.device import modules_seeded, resolve_device, set_seed

ProgressCallback = Callable[[float], None] | None


class SynthesisError(ValueError):
    """A request the generator cannot honour; the message says why."""


class RowGenerator(ABC):
    """Encoded rows given a class. `name` is the generator's kind in the model file,
    `config_class` its settings' dataclass."""

    name: str = ""
    config_class: type = object

    def __init__(self, layout: list[tuple[str, int]], num_classes: int, config):
        """`layout`: each column's kind ("numeric" or "categorical") and encoded width."""
        self.layout = [(kind, int(width)) for kind, width in layout]
        self.width = sum(width for _, width in self.layout)
        self.num_classes = num_classes
        self.config = config
        self.fitted = False

    def _state_header(self) -> dict:
        """What every generator's state starts with: its kind, columns, classes and config."""
        return {
            "name": self.name,
            "layout": [list(column) for column in self.layout],
            "num_classes": self.num_classes,
            "config": asdict(self.config),
        }

    @classmethod
    def _unfitted(cls, state: dict, device: str):
        """A generator of the state's columns, classes and config, on `device`."""
        config = cls.config_class(**{**state["config"], "device": device})
        return cls([tuple(column) for column in state["layout"]], state["num_classes"], config)

    @abstractmethod
    def fit(
        self, matrix: np.ndarray, classes: np.ndarray, *, on_progress: ProgressCallback = None
    ) -> RowGenerator: ...

    @abstractmethod
    def sample(self, classes: np.ndarray, *, seed: int) -> np.ndarray:
        """One encoded row per class asked for, the same for the same seed; categorical blocks
        hold probabilities (or one-hot rows)."""

    @abstractmethod
    def to_state(self) -> dict: ...

    @classmethod
    @abstractmethod
    def from_state(cls, state: dict, *, device: str = "cpu") -> RowGenerator: ...


@dataclass
class GeneratorConfig:
    hidden: int = 256
    latent: int = 32
    epochs: int = 30
    batch_size: int = 500
    learning_rate: float = 1e-3
    # Each class's share of a training batch goes as (its row count) ** class_balance: 1 is
    # the data's prior, 0 every class alike, 0.5 in between (0.2% fraud becomes ~4%).
    class_balance: float = 0.5
    max_rows: int = 250_000
    seed: int = 0
    device: str = "auto"


class ConditionalGenerator(RowGenerator):
    """A network that generates encoded rows given a class. Subclasses set `name` and
    `config_class`, and implement `_build`, `_optimizers`, `_step` and `_generate`."""

    config_class: type = GeneratorConfig

    def __init__(self, layout: list[tuple[str, int]], num_classes: int, config):
        super().__init__(layout, num_classes, config)
        self.numeric_positions, self.categorical_blocks = column_blocks(self.layout)
        self.modules: dict[str, torch.nn.Module] = modules_seeded(config.seed, self._build)

    @abstractmethod
    def _build(self) -> dict[str, torch.nn.Module]: ...

    @abstractmethod
    def _optimizers(self) -> list[torch.optim.Optimizer]: ...

    @abstractmethod
    def _step(
        self,
        rows: torch.Tensor,
        condition: torch.Tensor,
        optimizers: list,
        generator: torch.Generator,
    ) -> None: ...

    @abstractmethod
    def _generate(self, condition: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Encoded rows: numeric columns as values, categorical ones as probabilities."""

    @property
    def device(self) -> torch.device:
        return next(next(iter(self.modules.values())).parameters()).device

    def condition(self, classes: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(classes, self.num_classes).float()

    def fit(
        self, matrix: np.ndarray, classes: np.ndarray, *, on_progress: ProgressCallback = None
    ) -> ConditionalGenerator:
        config = self.config
        rng = set_seed(config.seed)
        classes = np.asarray(classes, np.int64)
        if len(matrix) != len(classes):
            raise ValueError(f"{len(matrix)} rows but {len(classes)} classes")
        if len(matrix) > config.max_rows:
            keep = np.sort(rng.choice(len(matrix), config.max_rows, replace=False))
            matrix, classes = matrix[keep], classes[keep]
        device = resolve_device(config.device)
        for module in self.modules.values():
            module.to(device).train()
        data = torch.as_tensor(np.asarray(matrix, np.float32), device=device)
        targets = torch.as_tensor(np.array(classes, np.int64), device=device)
        sampling = torch.as_tensor(_row_weights(classes, config.class_balance))
        generator = torch.Generator(device="cpu").manual_seed(config.seed)
        optimizers = self._optimizers()
        steps = max(1, len(data) // config.batch_size)
        for epoch in range(config.epochs):
            if on_progress is not None:
                on_progress(epoch / config.epochs)
            for _ in range(steps):
                picks = torch.multinomial(
                    sampling, config.batch_size, replacement=True, generator=generator
                ).to(device)
                self._step(data[picks], self.condition(targets[picks]), optimizers, generator)
        for module in self.modules.values():
            module.eval()
        self.fitted = True
        return self

    @torch.no_grad()
    def sample(self, classes: np.ndarray, *, seed: int) -> np.ndarray:
        if not self.fitted:
            raise RuntimeError(f"the {self.name} generator is not fitted")
        for module in self.modules.values():
            module.eval()
        generator = torch.Generator(device="cpu").manual_seed(seed)
        classes = torch.as_tensor(np.asarray(classes, np.int64))
        parts = []
        for start in range(0, len(classes), 65_536):
            condition = self.condition(classes[start : start + 65_536]).to(self.device)
            parts.append(self._generate(condition, generator).cpu().numpy())
        return np.concatenate(parts) if parts else np.zeros((0, self.width), np.float32)

    def noise(self, rows: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn((rows, self.config.latent), generator=generator).to(self.device)

    def to_state(self) -> dict:
        return {
            **self._state_header(),
            "weights": {
                name: {key: value.cpu() for key, value in module.state_dict().items()}
                for name, module in self.modules.items()
            },
        }

    @classmethod
    def from_state(cls, state: dict, *, device: str = "cpu") -> ConditionalGenerator:
        model = cls._unfitted(state, device)
        for name, module in model.modules.items():
            module.load_state_dict(state["weights"][name])
            module.to(resolve_device(device)).eval()
        model.fitted = True
        return model


def column_blocks(layout: list[tuple[str, int]]) -> tuple[list[int], list[slice]]:
    """The numeric columns' positions and each categorical column's slice in an encoded row."""
    numeric_positions, categorical, start = [], [], 0
    for kind, width in layout:
        if kind == "numeric":
            numeric_positions.append(start)
        else:
            categorical.append(slice(start, start + width))
        start += width
    return numeric_positions, categorical


def _row_weights(classes: np.ndarray, class_balance: float) -> np.ndarray:
    """Each row's chance of a draw, so that class k holds (count_k ** class_balance) / sum."""
    counts = np.bincount(classes)
    class_totals = np.where(counts > 0, counts.astype(np.float64) ** class_balance, 0.0)
    weights = class_totals[classes] / counts[classes]
    return weights / weights.sum()
