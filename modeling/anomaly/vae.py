"""The variational autoencoder: an encoder to a mean and a log-variance, a sampled latent code,
a decoder, trained on reconstruction plus the KL divergence to a standard normal prior. The
anomaly score is the negative evidence lower bound at the mean code: reconstruction error plus
how far the row's code sits from the prior."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from modeling.anomaly.base import NetworkConfig, NetworkDetector, mlp, optimizer_step


@dataclass
class VAEConfig(NetworkConfig):
    beta: float = 1.0  # the KL term's weight


class VAEDetector(NetworkDetector):
    name = "vae"
    config_class = VAEConfig

    def _build(self) -> dict[str, nn.Module]:
        hidden, latent = self.config.hidden, self.config.bottleneck
        return {
            "encoder": mlp([self.input_size, hidden], last_activation=nn.ReLU()),
            "mean": nn.Linear(hidden, latent),
            "log_variance": nn.Linear(hidden, latent),
            "decoder": mlp([latent, hidden, self.input_size]),
        }

    def _optimizers(self) -> list[torch.optim.Optimizer]:
        parameters = [p for module in self.modules.values() for p in module.parameters()]
        return [torch.optim.Adam(parameters, lr=self.config.learning_rate)]

    def _terms(self, x: torch.Tensor, noise: torch.Tensor | None):
        """(reconstruction error, KL divergence) per row; the code is sampled with `noise`,
        or taken at its mean without it."""
        hidden = self.modules["encoder"](x)
        mean = self.modules["mean"](hidden)
        log_variance = self.modules["log_variance"](hidden).clamp(-10.0, 10.0)
        code = mean if noise is None else mean + torch.exp(0.5 * log_variance) * noise
        reconstruction = 0.5 * ((self.modules["decoder"](code) - x) ** 2).sum(dim=1)
        divergence = -0.5 * (1 + log_variance - mean**2 - log_variance.exp()).sum(dim=1)
        return reconstruction, divergence

    def _step(self, batch, optimizers, generator) -> None:
        (optimizer,) = optimizers
        noise = torch.randn((len(batch), self.config.bottleneck), generator=generator)
        reconstruction, divergence = self._terms(batch, noise.to(batch.device))
        loss = (reconstruction + self.config.beta * divergence).mean()
        optimizer_step(optimizer, loss)

    def _batch_score(self, batch: torch.Tensor) -> torch.Tensor:
        reconstruction, divergence = self._terms(batch, None)
        return reconstruction + self.config.beta * divergence
