"""The denoising autoencoder: learns to rebuild each row from a noisy copy of it, so it learns
the shape of normal rows rather than the identity; the anomaly score is the reconstruction
error of the clean row."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from modeling.anomaly.autoencoder import AutoencoderDetector
from modeling.anomaly.base import NetworkConfig


@dataclass
class DenoisingConfig(NetworkConfig):
    noise: float = 0.3  # standard deviation of the Gaussian noise, in the scaler's units (IQRs)


class DenoisingDetector(AutoencoderDetector):
    name = "denoising"
    config_class = DenoisingConfig

    def _training_input(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn(batch.shape, generator=generator).to(batch.device)
        return batch + self.config.noise * noise
