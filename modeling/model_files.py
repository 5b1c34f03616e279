"""One small versioned model file: weights, scaler, configs and class names, kept together."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from modeling.anomaly.autoencoder import AutoencoderConfig, AutoencoderDetector
from modeling.anomaly.base import RANK_LEVELS, ScoreRanks
from modeling.anomaly.ensemble import AnomalyEnsemble
from modeling.committee import Committee, CommitteeConfig
from modeling.committee_shares import ShareEvidence
from modeling.features import FeatureScaler
from modeling.pseudo import PseudoLabelConfig
from modeling.sgan import SGAN, Discriminator, Generator, SGANConfig
from modeling.sgan_ensemble import SGANEnsemble
from modeling.sgan_stacked import StackedDiscriminator
from modeling.synthesis.augment import AugmentConfig
from modeling.trees import TreesClassifier, TreesConfig
from modeling.weak import WeakClassifier, WeakConfig

FORMAT = "fraudloop-model"
FORMAT_VERSION = 2  # 2: the anomaly detectors' ensemble; 1 (still read): one autoencoder
READABLE_VERSIONS = (1, 2)


class ModelFileError(ValueError):
    """A model file that cannot be used: missing, corrupt, or of another format version."""


@dataclass
class ModelBundle:
    class_names: list[str]
    scaler: FeatureScaler
    committee: Committee | None = None
    anomaly: AnomalyEnsemble | None = None
    metadata: dict = field(default_factory=dict)


def _committee_config_state(config: CommitteeConfig) -> dict:
    state = asdict(config)
    # JSON-like keys only: torch's safe loader and later readers both cope with strings.
    state["pseudo"]["thresholds"] = {str(k): v for k, v in config.pseudo.thresholds.items()}
    state["pseudo"]["caps"] = {str(k): v for k, v in config.pseudo.caps.items()}
    return state


def _committee_config(state: dict) -> CommitteeConfig:
    pseudo = state["pseudo"]
    return CommitteeConfig(
        **{
            k: v
            for k, v in state.items()
            if k not in {"weak", "sgan", "pseudo", "augment", "trees"}
        },
        augment=AugmentConfig.from_state(state.get("augment")),
        trees=TreesConfig(**state.get("trees", {})),
        weak=WeakConfig(**state["weak"]),
        sgan=SGANConfig(**state["sgan"]),
        pseudo=PseudoLabelConfig(
            thresholds={int(k): v for k, v in pseudo["thresholds"].items()},
            caps={int(k): v for k, v in pseudo["caps"].items()},
            weight=pseudo["weight"],
        ),
    )


def bundle_save(bundle: ModelBundle, path: str | Path) -> Path:
    path = Path(path)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class_names": list(bundle.class_names),
        "scaler": bundle.scaler.to_state(),
        "metadata": bundle.metadata,
    }
    if bundle.committee is not None:
        committee = bundle.committee
        payload["committee"] = {
            "config": _committee_config_state(committee.config),
            "weak": committee.weak.to_state(),
            "sgan_share": committee.sgan_share,
            "anomaly_share": committee.anomaly_share,
            "trees_share": committee.trees_share,
        }
        if committee.trees is not None:
            payload["committee"]["trees"] = committee.trees.to_state()
        if committee.anomaly is not None:
            if committee.anomaly is not bundle.anomaly:
                raise ValueError("the committee's anomaly member must be the bundle's detectors")
            payload["committee"]["anomaly_member"] = True
        evidence = committee.share_evidence
        if evidence is not None:
            payload["committee"]["share_evidence"] = {
                "members": {name: torch.as_tensor(p) for name, p in evidence.members.items()},
                "labels": torch.as_tensor(evidence.labels),
            }
        if committee.sgan is not None:
            payload["committee"]["sgan"] = _sgan_state(committee.sgan)
    if bundle.anomaly is not None:
        payload["anomaly"] = bundle.anomaly.to_state()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".partial")
    torch.save(payload, temporary)
    temporary.replace(path)  # a crash mid-write never leaves a half file under the real name
    return path


def _sgan_state(sgan: SGAN | SGANEnsemble) -> dict:
    """The discriminator(s) that score; one SGAN's generator too (an ensemble's generators
    only trained)."""
    state = {
        "input_size": sgan.input_size,
        "num_classes": sgan.num_classes,
        "config": asdict(sgan.config),
        "discriminator": {k: v.cpu() for k, v in sgan.discriminator.state_dict().items()},
        "best_step": sgan.best_step,
    }
    if isinstance(sgan, SGANEnsemble):
        state["best_steps"] = list(sgan.best_steps)
    else:
        state["generator"] = {k: v.cpu() for k, v in sgan.generator.state_dict().items()}
    return state


def _sgan_from_state(state: dict, device: str) -> SGAN | SGANEnsemble:
    config = SGANConfig(**state["config"])
    size, classes = state["input_size"], state["num_classes"]
    if config.members > 1:
        discriminator = StackedDiscriminator(config.members, size, classes, config)
        discriminator.load_state_dict(state["discriminator"])
        return SGANEnsemble(
            discriminator.to(device).eval(), classes, config, best_steps=state["best_steps"]
        )
    discriminator = Discriminator(size, classes, config)
    generator = Generator(size, config)
    discriminator.load_state_dict(state["discriminator"])
    generator.load_state_dict(state["generator"])
    return SGAN(
        discriminator.to(device).eval(),
        generator.to(device).eval(),
        classes,
        config,
        best_step=state["best_step"],
    )


def _read(path: Path) -> dict:
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (
        Exception
    ) as error:  # torch's loader fails in many ways on a damaged file; all mean the same
        raise ModelFileError(f"{path}: not a readable fraudloop model file ({error})") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a fraudloop model file")
    version = payload.get("format_version")
    if version not in READABLE_VERSIONS:
        raise ModelFileError(
            f"{path}: written in model format version {version}; this fraudloop reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}. Retrain the model to get a file this "
            "version can read."
        )
    return payload


def bundle_load(path: str | Path, *, device: str = "cpu") -> ModelBundle:
    path = Path(path)
    payload = _read(path)
    try:
        bundle = ModelBundle(
            class_names=payload["class_names"],
            scaler=FeatureScaler.from_state(payload["scaler"]),
            metadata=payload.get("metadata", {}),
        )
        if "anomaly" in payload:
            bundle.anomaly = AnomalyEnsemble.from_state(payload["anomaly"], device=device)
        elif "autoencoder" in payload:
            bundle.anomaly = _format_1_autoencoder(payload["autoencoder"], device=device)
        if "committee" in payload:
            state = payload["committee"]
            config = _committee_config(state["config"])
            sgan = _sgan_from_state(state["sgan"], device) if "sgan" in state else None
            evidence = state.get("share_evidence")
            bundle.committee = Committee(
                WeakClassifier.from_state(state["weak"]),
                sgan,
                config,
                anomaly=bundle.anomaly if state.get("anomaly_member") else None,
                sgan_share=float(state.get("sgan_share", 0.5)),
                anomaly_share=float(state.get("anomaly_share", 0.0)),
                # Files written before the tree member have none.
                trees=TreesClassifier.from_state(state["trees"]) if "trees" in state else None,
                trees_share=float(state.get("trees_share", 0.0)),
                share_evidence=None
                if evidence is None
                else ShareEvidence(
                    {name: p.numpy() for name, p in evidence["members"].items()},
                    evidence["labels"].numpy(),
                ),
            )
    except (KeyError, TypeError, RuntimeError, ValueError) as error:
        raise ModelFileError(
            f"{path}: the model file is incomplete or damaged ({error})"
        ) from error
    return bundle


def _format_1_autoencoder(state: dict, *, device: str) -> AnomalyEnsemble:
    """A format-1 file's one autoencoder as an ensemble of that detector alone: its weights
    under the detector's module names, its error quantiles (1,001 evenly spaced levels) read
    at today's rank levels. A one-detector ensemble's combined rank is that detector's rank."""
    detector = AutoencoderDetector(state["input_size"], AutoencoderConfig(**state["config"]))
    weights: dict[str, dict] = {"encoder": {}, "decoder": {}}
    for key, value in state["weights"].items():
        module, _, rest = key.partition(".")
        weights[module][rest] = value
    detector._weights_load(weights, device=device)
    if "error_quantiles" in state:
        quantiles = state["error_quantiles"].numpy()
        levels = np.linspace(0.0, 1.0, len(quantiles))
        detector.ranks = ScoreRanks(np.interp(RANK_LEVELS, levels, quantiles))
    return AnomalyEnsemble(
        {detector.name: detector},
        ranks=None if detector.ranks is None else ScoreRanks(RANK_LEVELS.copy()),
    )
