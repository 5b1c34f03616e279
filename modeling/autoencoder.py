"""Autoencoder anomaly score: trained on all (mostly legitimate) rows; high reconstruction error
ranks the pool before any fraud is labeled, and stays a committee member afterwards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from modeling.device import resolve_device, set_seed


@dataclass
class AutoencoderConfig:
    hidden: int = 64
    bottleneck: int = 8
    epochs: int = 4
    batch_size: int = 512
    learning_rate: float = 2e-3
    max_rows: int = 100_000  # rows sampled per training; more adds time, not quality
    seed: int = 0
    device: str = "auto"


class Autoencoder(nn.Module):
    def __init__(self, input_size: int, config: AutoencoderConfig):
        super().__init__()
        self.config = config
        self.input_size = input_size
        # The training rows' reconstruction errors at 1,001 evenly spaced quantiles: they turn a
        # score into a rank that means the same from one version to the next.
        self.error_quantiles: np.ndarray | None = None
        self.encoder = nn.Sequential(
            nn.Linear(input_size, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, config.bottleneck),
        )
        self.decoder = nn.Sequential(
            nn.Linear(config.bottleneck, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, input_size),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    @torch.no_grad()
    def anomaly_score(self, x: np.ndarray, *, batch_size: int = 65_536) -> np.ndarray:
        """Mean squared reconstruction error per row: higher is more unusual."""
        self.eval()
        device = next(self.parameters()).device
        scores = []
        for start in range(0, len(x), batch_size):
            chunk = torch.as_tensor(
                x[start : start + batch_size], dtype=torch.float32, device=device
            )
            scores.append(((self(chunk) - chunk) ** 2).mean(dim=1).cpu().numpy())
        return np.concatenate(scores) if scores else np.zeros(0)

    def anomaly_rank(self, x: np.ndarray) -> np.ndarray:
        """Share of the training rows that reconstruct better than each row: 0 to 1."""
        if self.error_quantiles is None:
            raise RuntimeError("this autoencoder has no error quantiles to rank by")
        levels = np.linspace(0.0, 1.0, len(self.error_quantiles))
        return np.interp(self.anomaly_score(x), self.error_quantiles, levels)


def autoencoder_train(
    x: np.ndarray,
    config: AutoencoderConfig | None = None,
    *,
    on_progress: Callable[[float], None] | None = None,
) -> Autoencoder:
    """Fits on a sample of all rows; `on_progress` gets the share of epochs done."""
    config = config or AutoencoderConfig()
    rng = set_seed(config.seed)
    device = resolve_device(config.device)
    if len(x) > config.max_rows:
        x = x[rng.choice(len(x), config.max_rows, replace=False)]
    data = torch.as_tensor(x, dtype=torch.float32, device=device)
    model = Autoencoder(x.shape[1], config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    for epoch in range(config.epochs):
        if on_progress is not None:
            on_progress(epoch / config.epochs)
        model.train()
        order = torch.randperm(len(data), generator=generator).to(device)
        for start in range(0, len(data), config.batch_size):
            batch = data[order[start : start + config.batch_size]]
            loss = ((model(batch) - batch) ** 2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()
    model.error_quantiles = np.quantile(model.anomaly_score(x), np.linspace(0.0, 1.0, 1001))
    return model
