"""The conditional variational autoencoder: an encoder of (row, class) to a Gaussian code, a
decoder of (code, class) to each numeric column's mean (with a learned spread per column) and
each categorical column's logits. Rows are drawn by decoding codes from the prior."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from modeling.anomaly.base import mlp, optimizer_step
from modeling.synthesis.base import ConditionalGenerator, GeneratorConfig


@dataclass
class CVAEConfig(GeneratorConfig):
    beta: float = 1.0  # the KL term's weight


class Spread(nn.Module):
    """The log standard deviation of each numeric column around the decoder's mean."""

    def __init__(self, size: int):
        super().__init__()
        self.log_scale = nn.Parameter(torch.full((size,), -1.0))


class ConditionalVAE(ConditionalGenerator):
    name = "cvae"
    config_class = CVAEConfig

    def _build(self) -> dict[str, nn.Module]:
        hidden, latent, classes = self.config.hidden, self.config.latent, self.num_classes
        return {
            "encoder": mlp([self.width + classes, hidden, hidden], last_activation=nn.ReLU()),
            "mean": nn.Linear(hidden, latent),
            "log_variance": nn.Linear(hidden, latent),
            "decoder": mlp([latent + classes, hidden, hidden, self.width]),
            "spread": Spread(len(self.numeric_positions)),
        }

    def _optimizers(self) -> list[torch.optim.Optimizer]:
        parameters = [p for module in self.modules.values() for p in module.parameters()]
        return [torch.optim.Adam(parameters, lr=self.config.learning_rate, weight_decay=1e-5)]

    def _step(self, rows, condition, optimizers, generator) -> None:
        (optimizer,) = optimizers
        hidden = self.modules["encoder"](torch.cat([rows, condition], dim=1))
        mean = self.modules["mean"](hidden)
        log_variance = self.modules["log_variance"](hidden).clamp(-10.0, 10.0)
        code = mean + torch.exp(0.5 * log_variance) * self.noise(len(rows), generator)
        output = self.modules["decoder"](torch.cat([code, condition], dim=1))
        log_scale = self.modules["spread"].log_scale.clamp(-5.0, 2.0)
        numeric = self.numeric_positions
        error = (rows[:, numeric] - output[:, numeric]) / log_scale.exp()
        reconstruction = (0.5 * error**2 + log_scale).sum(dim=1)
        for block in self.categorical_blocks:
            reconstruction = reconstruction + nn.functional.cross_entropy(
                output[:, block], rows[:, block].argmax(dim=1), reduction="none"
            )
        divergence = -0.5 * (1 + log_variance - mean**2 - log_variance.exp()).sum(dim=1)
        optimizer_step(optimizer, (reconstruction + self.config.beta * divergence).mean())

    def _generate(self, condition, generator) -> torch.Tensor:
        code = self.noise(len(condition), generator)
        output = self.modules["decoder"](torch.cat([code, condition], dim=1))
        numeric = self.numeric_positions
        scale = self.modules["spread"].log_scale.clamp(-5.0, 2.0).exp()
        spread = torch.randn((len(condition), len(numeric)), generator=generator)
        output[:, numeric] = output[:, numeric] + scale * spread.to(output.device)
        for block in self.categorical_blocks:
            output[:, block] = torch.softmax(output[:, block], dim=1)
        return output
