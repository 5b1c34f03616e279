"""What a training run trains with: model configs, seed, device; defaults from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.conf import settings

from modeling.audit_estimate import AuditEstimateConfig
from modeling.autoencoder import AutoencoderConfig
from modeling.committee import CommitteeConfig


@dataclass
class TrainingOptions:
    seed: int = 0
    committee: CommitteeConfig = field(default_factory=CommitteeConfig)
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    cross_validation_folds: int = 5
    audit_estimate: AuditEstimateConfig = field(default_factory=AuditEstimateConfig)
    device: str = "auto"

    @classmethod
    def from_settings(cls) -> TrainingOptions:
        committee = CommitteeConfig()
        committee.sgan = replace(committee.sgan, steps=settings.TRAINING_SGAN_STEPS)
        return cls(
            seed=settings.TRAINING_SEED,
            committee=committee,
            autoencoder=AutoencoderConfig(epochs=settings.TRAINING_AUTOENCODER_EPOCHS),
            audit_estimate=AuditEstimateConfig(seed=settings.TRAINING_SEED),
            device=settings.TRAINING_DEVICE,
        )
