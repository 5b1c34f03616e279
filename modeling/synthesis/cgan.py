"""The conditional GAN: a generator of (noise, class) to a row and a critic of (row, class),
trained with the Wasserstein loss and a gradient penalty (WGAN-GP), which keeps the critic's
signal useful where a saturating discriminator would stop teaching. Categorical columns leave
the generator through a Gumbel softmax during training, so the critic sees near one-hot rows as
it does for real ones, and as probabilities to draw from afterwards."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

from modeling.anomaly.base import mlp, optimizer_step
from modeling.synthesis.base import ConditionalGenerator, GeneratorConfig


@dataclass
class CGANConfig(GeneratorConfig):
    learning_rate: float = 2e-4
    critic_steps: int = 2  # critic updates per generator update
    gradient_penalty: float = 10.0
    temperature: float = 0.2  # of the Gumbel softmax


def critic_network(sizes: list[int]) -> nn.Sequential:
    """Linear layers with leaky ReLUs between them: a WGAN critic needs gradients everywhere."""
    layers: list[nn.Module] = []
    for size_in, size_out in itertools.pairwise(sizes):
        layers += [nn.Linear(size_in, size_out), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers[:-1])


class ConditionalGAN(ConditionalGenerator):
    name = "cgan"
    config_class = CGANConfig

    def _build(self) -> dict[str, nn.Module]:
        hidden, latent, classes = self.config.hidden, self.config.latent, self.num_classes
        return {
            "generator": mlp([latent + classes, hidden, hidden, self.width]),
            "critic": critic_network([self.width + classes, hidden, hidden, 1]),
        }

    def _optimizers(self) -> list[torch.optim.Optimizer]:
        rate = self.config.learning_rate
        return [
            torch.optim.Adam(self.modules["generator"].parameters(), lr=rate, betas=(0.5, 0.9)),
            torch.optim.Adam(self.modules["critic"].parameters(), lr=rate, betas=(0.5, 0.9)),
        ]

    def _rows(self, condition, generator, *, hard: bool) -> torch.Tensor:
        """Generated rows; `hard` passes categorical logits through a Gumbel softmax."""
        output = self.modules["generator"](
            torch.cat([self.noise(len(condition), generator), condition], dim=1)
        )
        parts, start = [], 0
        for block in self.categorical_blocks:
            parts.append(output[:, start : block.start])
            logits = output[:, block]
            if hard:
                uniform = torch.rand(logits.shape, generator=generator).to(logits.device)
                gumbel = -torch.log(-torch.log(uniform.clamp(1e-10, 1.0 - 1e-10)))
                parts.append(torch.softmax((logits + gumbel) / self.config.temperature, dim=1))
            else:
                parts.append(torch.softmax(logits, dim=1))
            start = block.stop
        parts.append(output[:, start:])
        return torch.cat(parts, dim=1)

    def _critic(self, rows, condition) -> torch.Tensor:
        return self.modules["critic"](torch.cat([rows, condition], dim=1)).squeeze(1)

    def _step(self, rows, condition, optimizers, generator) -> None:
        generator_optimizer, critic_optimizer = optimizers
        for _ in range(self.config.critic_steps):
            with torch.no_grad():
                fake = self._rows(condition, generator, hard=True)
            mix = torch.rand((len(rows), 1), generator=generator).to(rows.device)
            between = (mix * rows + (1 - mix) * fake).requires_grad_(True)
            (gradient,) = torch.autograd.grad(
                self._critic(between, condition).sum(), between, create_graph=True
            )
            penalty = ((gradient.norm(dim=1) - 1.0) ** 2).mean()
            loss = (
                self._critic(fake, condition).mean()
                - self._critic(rows, condition).mean()
                + self.config.gradient_penalty * penalty
            )
            optimizer_step(critic_optimizer, loss)
        fake = self._rows(condition, generator, hard=True)
        optimizer_step(generator_optimizer, -self._critic(fake, condition).mean())

    def _generate(self, condition, generator) -> torch.Tensor:
        return self._rows(condition, generator, hard=False)
