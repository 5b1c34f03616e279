"""Small training runs in this process, and a simulated annotator, for the training tests."""

from __future__ import annotations

import json
from dataclasses import replace

from labeler.models import Label, ModelVersion, ReferenceLabel, TrainingPolicy
from labeler.services import ingesting, training_runs
from labeler.services.demo import demo_answers, raw_demo_import
from labeler.services.training import TrainingOptions, training_run_execute
from labeler.services.training_runs import training_request
from modeling.anomaly.ensemble import AnomalyConfig
from modeling.committee import CommitteeConfig
from modeling.synthetic_raw import RawSimulationConfig, raw_transactions_simulate


def runs_in_this_process(monkeypatch, settings, tmp_path, **policy) -> None:
    """Training runs and arrival batches are not handed to a broker (the test runs them), model
    files go under `tmp_path`, and the training policy takes the given values."""
    monkeypatch.setattr(training_runs, "_enqueue", lambda version_id: None)
    monkeypatch.setattr(ingesting, "_enqueue", lambda batch_id: None)
    settings.MEDIA_ROOT = str(tmp_path / "media")
    current = TrainingPolicy.current()
    for name, value in policy.items():
        setattr(current, name, value)
    current.save()


def small_anomaly_config() -> AnomalyConfig:
    """The product's default detectors and combination, quickly."""
    config = AnomalyConfig()
    for name in config.detectors:
        changes = {"trees": 20} if name == "isolation_forest" else {"epochs": 1}
        setattr(config, name, replace(getattr(config, name), **changes))
    return config


def small_options() -> TrainingOptions:
    """Quick models. Without the tree member, which has tests of its own: its probabilities
    stop near 0.997 (100 steps at a learning rate of 0.05 bound its log-odds), so on these
    3,000-row datasets no row of a mix that has it reaches the pseudo-labels' 0.999, and most
    tests need pseudo-labels. (On the 95,000-row raw demo the trees' mix reaches both caps.)"""
    committee = CommitteeConfig(use_trees=False)
    committee.sgan = replace(committee.sgan, steps=60, evaluate_every=20)
    return TrainingOptions(
        committee=committee,
        anomaly=small_anomaly_config(),
        cross_validation_folds=3,
        device="cpu",
    )


def run(dataset, options: TrainingOptions | None = None, **changes) -> ModelVersion:
    version = training_request(dataset=dataset, trigger="command", enqueue=False).version
    options = options or small_options()
    training_run_execute(version_id=version.pk, worker="test", options=options, **changes)
    version.refresh_from_db()
    return version


def label_queue(dataset, annotator, count: int) -> None:
    """A simulated annotator answering the top of the queue with the reference class."""
    demo_answers(annotator, count)


def raw_committee_version(annotator):
    """A raw dataset (cards, merchants, dates) with a committee version active: (dataset,
    version)."""
    dataset = raw_demo_import(customers=100, terminals=200, days=30, seed=3).dataset
    run(dataset)
    label_queue(dataset, annotator, 80)
    # A few of the frauds the issuer knows of, so that the committee trains on some.
    frauds = ReferenceLabel.objects.filter(
        transaction__dataset=dataset, label_class__is_positive=True
    ).exclude(transaction__labels__isnull=False)[:8]
    for reference in frauds:
        Label.objects.create(
            transaction_id=reference.transaction_id,
            annotator=annotator,
            label_class_id=reference.label_class_id,
            decision=Label.Decision.MANUAL,
        )
    version = run(dataset)
    assert version.status == ModelVersion.Status.ACTIVE
    assert version.kind != ModelVersion.Kind.AUTOENCODER  # a committee, with a classifier
    return dataset, version


def arrivals(count: int, *, seed: int = 3, prefix: str = "new") -> bytes:
    """Later transactions of the cards and merchants of `raw_committee_version`'s dataset (the
    same simulation run two days longer), as the issuer would send them."""
    frame = raw_transactions_simulate(
        RawSimulationConfig(customers=100, terminals=200, days=32, seed=seed)
    ).frame
    later = frame[frame["timestamp"] >= "2026-02-04"].drop(columns=["is_fraud"])
    later = later.sort_values("timestamp").head(count).copy()
    later["transaction_id"] = [f"{prefix}-{i}" for i in range(len(later))]
    return json.dumps(later.to_dict(orient="records")).encode()
