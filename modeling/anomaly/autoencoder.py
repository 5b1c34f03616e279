"""The autoencoder: trained to reconstruct the (mostly legitimate) rows; a row it reconstructs
badly is unusual. The cold start's first detector, and the model the others are compared with."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from modeling.anomaly.base import (
    NetworkConfig,
    NetworkDetector,
    mlp,
    optimizer_step,
    squared_error,
)


@dataclass
class AutoencoderConfig(NetworkConfig):
    pass


class AutoencoderDetector(NetworkDetector):
    name = "autoencoder"
    config_class = AutoencoderConfig

    def _build(self) -> dict[str, torch.nn.Module]:
        sizes = [self.input_size, self.config.hidden, self.config.bottleneck]
        return {"encoder": mlp(sizes), "decoder": mlp(sizes[::-1])}

    def _optimizers(self) -> list[torch.optim.Optimizer]:
        parameters = [p for module in self.modules.values() for p in module.parameters()]
        return [torch.optim.Adam(parameters, lr=self.config.learning_rate)]

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.modules["decoder"](self.modules["encoder"](x))

    def _training_input(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return batch

    def _step(self, batch, optimizers, generator) -> None:
        (optimizer,) = optimizers
        loss = squared_error(self.reconstruct(self._training_input(batch, generator)), batch)
        optimizer_step(optimizer, loss.mean())

    def _batch_score(self, batch: torch.Tensor) -> torch.Tensor:
        return squared_error(self.reconstruct(batch), batch)
