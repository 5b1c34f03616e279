"""Generated frauds to train on: a conditional VAE (or the local kernel, `kind`) learns the
labeled rows (and a sample of the unlabeled pool as the background class) in the model's own
input space and draws extra rows of the rare class, which the committee's members then learn
from at a low weight. Off by default (`CommitteeConfig.augment`) until the label-efficiency
benchmark shows it helps."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from modeling.synthesis.cvae import ConditionalVAE, CVAEConfig
from modeling.synthesis.kernel import KernelConfig, LocalKernel

KINDS = ("cvae", "kernel")


@dataclass
class AugmentConfig:
    rows: int = 0  # generated rows of the positive class per training; 0 is off
    weight: float = 0.1  # each generated row's weight against a human label's 1
    background_rows: int = 5_000  # unlabeled rows the generator also sees, as the other class
    min_positives: int = 4  # fewer labeled frauds than this: nothing is generated
    generator: CVAEConfig = field(
        default_factory=lambda: CVAEConfig(hidden=64, latent=8, epochs=40, batch_size=128)
    )
    # "cvae" trains `generator`; "kernel" draws each fraud from the Gaussian of a labeled fraud
    # and its nearest labeled frauds (modeling/synthesis/kernel.py), with no training
    kind: str = "cvae"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"augmentation generator {self.kind!r}: one of {', '.join(KINDS)}")

    @classmethod
    def from_state(cls, state: dict | None) -> AugmentConfig:
        """From a model file's config (files from before augmentation have none: off)."""
        if not state:
            return cls()
        return cls(**{**state, "generator": CVAEConfig(**state["generator"])})


def frauds_generate(
    x_labeled: np.ndarray,
    y_labeled: np.ndarray,
    x_unlabeled: np.ndarray,
    *,
    positive_class: int,
    config: AugmentConfig,
    seed: int,
) -> np.ndarray:
    """`config.rows` generated rows of `positive_class` (an empty array when off or when too
    few are labeled). Classes other than the positive one, and the unlabeled sample, form the
    condition's other value, so the generator learns what separates fraud from the rest."""
    width = x_labeled.shape[1]
    positive = np.asarray(y_labeled) == positive_class
    if config.rows <= 0 or int(positive.sum()) < config.min_positives:
        return np.zeros((0, width), np.float32)
    rng = np.random.default_rng(seed)
    take = min(config.background_rows, len(x_unlabeled))
    background = x_unlabeled[rng.choice(len(x_unlabeled), take, replace=False)] if take else None
    parts = [x_labeled] if background is None else [x_labeled, background]
    rows = np.vstack(parts).astype(np.float32)
    classes = np.concatenate([positive.astype(np.int64), np.zeros(take, np.int64)])
    layout = [("numeric", 1)] * width
    if config.kind == "kernel":
        model = LocalKernel(layout, 2, KernelConfig(seed=seed, device=config.generator.device))
    else:
        model = ConditionalVAE(layout, 2, replace(config.generator, seed=seed))
    model.fit(rows, classes)
    return model.sample(np.ones(config.rows, np.int64), seed=seed).astype(np.float32)
