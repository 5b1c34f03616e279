"""A table's generator as one object: the column encoder, the conditional network and the class
names, fitted from a table and each row's class; it draws rows with the class shares asked for
and never returns a row that copies one it was trained on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from modeling.synthesis.base import ProgressCallback, RowGenerator, SynthesisError
from modeling.synthesis.cgan import CGANConfig, ConditionalGAN
from modeling.synthesis.cvae import ConditionalVAE, CVAEConfig
from modeling.synthesis.kernel import KernelConfig, LocalKernel
from modeling.synthesis.privacy import row_fingerprints
from modeling.synthesis.table import TableEncoder

GENERATORS: dict[str, tuple[type[RowGenerator], type]] = {
    "kernel": (LocalKernel, KernelConfig),
    "cvae": (ConditionalVAE, CVAEConfig),
    "cgan": (ConditionalGAN, CGANConfig),
}
FORMAT_VERSION = 1
__all__ = ["GENERATORS", "SynthesisError", "Synthesizer", "generator_config"]


def generator_config(kind: str, **values):
    """`kind`'s config with the values it has a setting for (a kernel has no epochs)."""
    if kind not in GENERATORS:
        raise SynthesisError(f"unknown generator {kind!r}: one of {', '.join(GENERATORS)}")
    config_class = GENERATORS[kind][1]
    known = {item.name for item in fields(config_class)}
    return config_class(**{name: value for name, value in values.items() if name in known})


@dataclass
class Synthesizer:
    encoder: TableEncoder
    model: RowGenerator
    class_names: list[str]
    training_fingerprints: np.ndarray  # of the rows it was fitted on, to refuse copies
    class_rows: np.ndarray  # rows of each class it was fitted on

    @classmethod
    def fit(
        cls,
        table: pd.DataFrame,
        classes: np.ndarray,
        *,
        class_names: Sequence[str],
        categorical: Sequence[str] = (),
        kind: str = "cvae",
        config=None,
        on_progress: ProgressCallback = None,
    ) -> Synthesizer:
        if kind not in GENERATORS:
            raise SynthesisError(f"unknown generator {kind!r}: one of {', '.join(GENERATORS)}")
        classes = np.asarray(classes, np.int64)
        if len(classes) != len(table):
            raise SynthesisError(f"{len(table)} rows but {len(classes)} classes")
        if len(classes) and (classes.min() < 0 or classes.max() >= len(class_names)):
            raise SynthesisError(f"classes must lie in 0..{len(class_names) - 1}")
        model_class, config_class = GENERATORS[kind]
        encoder = TableEncoder.fit(table, categorical=list(categorical))
        model = model_class(encoder.layout(), len(class_names), config or config_class())
        model.fit(encoder.encode(table), classes, on_progress=on_progress)
        return cls(
            encoder,
            model,
            list(class_names),
            row_fingerprints(table[encoder.names]),
            np.bincount(classes, minlength=len(class_names)),
        )

    @property
    def kind(self) -> str:
        return self.model.name

    def class_counts(self, rows: int, shares: dict[int, float]) -> np.ndarray:
        """Rows per class for the shares asked for; the classes not named share what is left
        in their proportions among the rows it learned from."""
        if rows < 0:
            raise SynthesisError("the number of rows cannot be negative")
        counts = np.zeros(len(self.class_names), np.int64)
        rest = [k for k in range(len(self.class_names)) if k not in shares]
        for k, share in shares.items():
            if not 0 <= k < len(self.class_names):
                raise SynthesisError(f"unknown class {k}")
            if not 0.0 <= share <= 1.0:
                raise SynthesisError(f"the share of {self.class_names[k]!r} must lie in 0..1")
            counts[k] = round(rows * share)
        if counts.sum() > rows:
            raise SynthesisError("the class shares asked for add up to more than 1")
        left = int(rows - counts.sum())
        if rest:
            prior = self.class_rows[rest].astype(np.float64) + 1e-9
            exact = left * prior / prior.sum()
            given = np.floor(exact).astype(np.int64)
            # the rows rounding left over go to the largest remainders
            given[np.argsort(given - exact, kind="stable")[: left - given.sum()]] += 1
            counts[rest] += given
        elif left:
            raise SynthesisError("the class shares asked for add up to less than 1")
        return counts

    def sample(
        self, rows: int, *, shares: dict[int, float], seed: int = 0, max_rounds: int = 20
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """`rows` rows and their classes, shuffled; rows that copy a training row are drawn
        again (an error if they keep coming: the generator has memorised its data)."""
        counts = self.class_counts(rows, shares)
        rng = np.random.default_rng(seed)
        wanted = np.repeat(np.arange(len(counts)), counts)
        tables, kept_classes = [], []
        for round_index in range(max_rounds):
            if not len(wanted):
                break
            drawn = self.encoder.decode(
                self.model.sample(wanted, seed=seed * 1_000 + round_index), rng=rng
            )
            copies = np.isin(row_fingerprints(drawn), self.training_fingerprints)
            tables.append(drawn[~copies])
            kept_classes.append(wanted[~copies])
            wanted = wanted[copies]
        if len(wanted):
            raise SynthesisError(
                f"{len(wanted)} rows still copied a training row after {max_rounds} draws: "
                "the generator reproduces its data and its rows cannot be shared"
            )
        table = (
            pd.concat(tables, ignore_index=True)
            if tables
            else self.encoder.decode(np.zeros((0, self.encoder.width), np.float32), rng=rng)
        )
        classes = np.concatenate(kept_classes) if kept_classes else np.zeros(0, np.int64)
        order = rng.permutation(len(table))
        return table.iloc[order].reset_index(drop=True), classes[order]

    def to_state(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "encoder": self.encoder.to_state(),
            "model": self.model.to_state(),
            "class_names": self.class_names,
            "training_fingerprints": self.training_fingerprints,
            "class_rows": self.class_rows,
        }

    @classmethod
    def from_state(cls, state: dict, *, device: str = "cpu") -> Synthesizer:
        if state.get("format_version") != FORMAT_VERSION:
            raise SynthesisError(
                f"generator file format {state.get('format_version')}, expected {FORMAT_VERSION}"
            )
        model_class, _ = GENERATORS[state["model"]["name"]]
        return cls(
            TableEncoder.from_state(state["encoder"]),
            model_class.from_state(state["model"], device=device),
            list(state["class_names"]),
            np.asarray(state["training_fingerprints"]),
            np.asarray(state["class_rows"]),
        )
