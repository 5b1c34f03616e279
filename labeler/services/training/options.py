"""What a training run trains with: model configs, seed, device; defaults from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.conf import settings

from modeling.anomaly.ensemble import AnomalyConfig
from modeling.audit_estimate import AuditEstimateConfig
from modeling.committee import CommitteeConfig


@dataclass
class TrainingOptions:
    seed: int = 0
    committee: CommitteeConfig = field(default_factory=CommitteeConfig)
    # The anomaly detectors; None: the measured default for the dataset's inputs
    # (AnomalyConfig.for_inputs). `anomaly_epochs`, when set, is every network detector's.
    anomaly: AnomalyConfig | None = None
    anomaly_epochs: int = 0
    cross_validation_folds: int = 5
    audit_estimate: AuditEstimateConfig = field(default_factory=AuditEstimateConfig)
    device: str = "auto"
    # At most this many unlabeled rows, drawn at random, for the scaler, the anomaly detectors
    # and the committee's unlabeled pool; every labeled and pseudo-labeled row is kept. 0: all.
    unlabeled_sample: int = 0
    # Rows per scoring shard (training/scoring_shards.py): what one shard holds in memory.
    scoring_shard_rows: int = 250_000
    # Shards as tasks for the light workers (False: one after the other in the training
    # process), and how long a run waits for them before it fails.
    scoring_on_workers: bool = False
    scoring_timeout: float = 3600.0
    # SGANs in the ensemble (modeling/sgan_ensemble.py); 0: by the device the run gets.
    sgan_members: int = 0

    @classmethod
    def from_settings(cls) -> TrainingOptions:
        committee = CommitteeConfig(use_trees=settings.TRAINING_TREES)
        committee.sgan = replace(
            committee.sgan,
            steps=settings.TRAINING_SGAN_STEPS,
            batch_size=settings.TRAINING_SGAN_BATCH,
        )
        return cls(
            seed=settings.TRAINING_SEED,
            committee=committee,
            anomaly=anomaly_config_from_settings(),
            anomaly_epochs=settings.TRAINING_ANOMALY_EPOCHS,
            audit_estimate=AuditEstimateConfig(seed=settings.TRAINING_SEED),
            device=settings.TRAINING_DEVICE,
            unlabeled_sample=settings.TRAINING_UNLABELED_SAMPLE,
            scoring_shard_rows=settings.TRAINING_SCORING_SHARD_ROWS,
            scoring_on_workers=settings.TRAINING_SCORING_ON_WORKERS,
            scoring_timeout=settings.TRAINING_SCORING_TIMEOUT,
            sgan_members=settings.TRAINING_SGAN_MEMBERS,
        )

    def anomaly_for(self, *, numeric: bool) -> AnomalyConfig:
        """The detectors this run fits: the configured ones, or the default for inputs that
        are all numbers (`numeric`) or not."""
        config = (
            replace(self.anomaly) if self.anomaly else AnomalyConfig.for_inputs(numeric=numeric)
        )
        if self.anomaly_epochs:
            for name in NETWORK_DETECTORS:
                setattr(config, name, replace(getattr(config, name), epochs=self.anomaly_epochs))
        return config


NETWORK_DETECTORS = ("autoencoder", "vae", "denoising", "ganomaly", "alocc")


def anomaly_config_from_settings() -> AnomalyConfig | None:
    """The detectors, their weights and how their ranks combine, from TRAINING_ANOMALY_*;
    None where TRAINING_ANOMALY_DETECTORS names none (the default for the dataset's inputs)."""
    if not settings.TRAINING_ANOMALY_DETECTORS:
        return None
    return AnomalyConfig(
        detectors=tuple(settings.TRAINING_ANOMALY_DETECTORS),
        weights=dict(settings.TRAINING_ANOMALY_WEIGHTS),
        combine=settings.TRAINING_ANOMALY_COMBINE,
    )
