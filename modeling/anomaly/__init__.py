"""Anomaly detectors for the cold start and the committee's anomaly member: one module per
detector behind one small interface (`base.Detector`), and the ensemble that combines their
ranks (`ensemble`)."""

from modeling.anomaly.alocc import ALOCCConfig, ALOCCDetector
from modeling.anomaly.autoencoder import AutoencoderConfig, AutoencoderDetector
from modeling.anomaly.base import Detector, ScoreRanks
from modeling.anomaly.denoising import DenoisingConfig, DenoisingDetector
from modeling.anomaly.ganomaly import GANomalyConfig, GANomalyDetector
from modeling.anomaly.isolation_forest import IsolationForestConfig, IsolationForestDetector
from modeling.anomaly.mahalanobis import MahalanobisConfig, MahalanobisDetector
from modeling.anomaly.vae import VAEConfig, VAEDetector

DETECTORS: dict[str, type[Detector]] = {
    detector.name: detector
    for detector in (
        AutoencoderDetector,
        VAEDetector,
        DenoisingDetector,
        GANomalyDetector,
        ALOCCDetector,
        IsolationForestDetector,
        MahalanobisDetector,
    )
}

__all__ = [
    "DETECTORS",
    "ALOCCConfig",
    "AutoencoderConfig",
    "DenoisingConfig",
    "Detector",
    "GANomalyConfig",
    "IsolationForestConfig",
    "MahalanobisConfig",
    "ScoreRanks",
    "VAEConfig",
]
