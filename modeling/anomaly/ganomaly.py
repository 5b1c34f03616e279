"""GANomaly (Akcay et al., 2018) for table rows: an encoder-decoder-encoder generator trained
adversarially on (mostly) normal rows. A normal row's code survives the round trip through the
decoder and the second encoder; an unusual row's does not, so the anomaly score is the distance
between the first and the second latent code."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from modeling.anomaly.base import (
    NetworkConfig,
    NetworkDetector,
    mlp,
    optimizer_step,
    real_or_fake_loss,
)


@dataclass
class GANomalyConfig(NetworkConfig):
    # The generator's loss weights, as in the paper: adversarial (feature matching on the
    # discriminator's hidden layer), contextual (L1 reconstruction) and encoder (latent L2).
    adversarial_weight: float = 1.0
    contextual_weight: float = 50.0
    encoder_weight: float = 1.0


class GANomalyDetector(NetworkDetector):
    name = "ganomaly"
    config_class = GANomalyConfig

    def _build(self) -> dict[str, nn.Module]:
        size, hidden, latent = self.input_size, self.config.hidden, self.config.bottleneck
        return {
            "encoder": mlp([size, hidden, latent]),
            "decoder": mlp([latent, hidden, size]),
            "second_encoder": mlp([size, hidden, latent]),
            "critic_features": mlp([size, hidden], last_activation=nn.LeakyReLU(0.2)),
            "critic": nn.Linear(hidden, 1),
        }

    def _optimizers(self) -> list[torch.optim.Optimizer]:
        generator = [
            p
            for name in ("encoder", "decoder", "second_encoder")
            for p in self.modules[name].parameters()
        ]
        critic = [
            p for name in ("critic_features", "critic") for p in self.modules[name].parameters()
        ]
        rate = self.config.learning_rate
        return [
            torch.optim.Adam(generator, lr=rate, betas=(0.5, 0.999)),
            torch.optim.Adam(critic, lr=rate, betas=(0.5, 0.999)),
        ]

    def _round_trip(self, x: torch.Tensor):
        code = self.modules["encoder"](x)
        rebuilt = self.modules["decoder"](code)
        return code, rebuilt, self.modules["second_encoder"](rebuilt)

    def _step(self, batch, optimizers, generator) -> None:
        generator_optimizer, critic_optimizer = optimizers
        features, critic = self.modules["critic_features"], self.modules["critic"]
        code, rebuilt, second_code = self._round_trip(batch)
        config = self.config
        loss = (
            config.adversarial_weight * ((features(batch).detach() - features(rebuilt)) ** 2).mean()
            + config.contextual_weight * (batch - rebuilt).abs().mean()
            + config.encoder_weight * ((code - second_code) ** 2).mean()
        )
        optimizer_step(generator_optimizer, loss)
        real = critic(features(batch))
        fake = critic(features(rebuilt.detach()))
        optimizer_step(critic_optimizer, real_or_fake_loss(real, fake))

    def _batch_score(self, batch: torch.Tensor) -> torch.Tensor:
        code, _, second_code = self._round_trip(batch)
        return ((code - second_code) ** 2).mean(dim=1)
