"""Small training runs in this process, and a simulated annotator, for the training tests."""

from __future__ import annotations

from dataclasses import replace

from labeler.models import Label, ModelVersion, QueueEntry, ReferenceLabel
from labeler.services.training import TrainingOptions, training_run_execute
from labeler.services.training_runs import training_request
from modeling.anomaly.ensemble import AnomalyConfig
from modeling.committee import CommitteeConfig


def small_anomaly_config() -> AnomalyConfig:
    """The product's default detectors and combination, quickly."""
    config = AnomalyConfig()
    for name in config.detectors:
        changes = {"trees": 20} if name == "isolation_forest" else {"epochs": 1}
        setattr(config, name, replace(getattr(config, name), **changes))
    return config


def small_options() -> TrainingOptions:
    committee = CommitteeConfig()
    committee.sgan = replace(committee.sgan, steps=60, evaluate_every=20)
    return TrainingOptions(
        committee=committee,
        anomaly=small_anomaly_config(),
        cross_validation_folds=3,
        device="cpu",
    )


def run(dataset, **changes) -> ModelVersion:
    version = training_request(dataset=dataset, trigger="command", enqueue=False).version
    training_run_execute(version_id=version.pk, worker="test", options=small_options(), **changes)
    version.refresh_from_db()
    return version


def label_queue(dataset, annotator, count: int) -> None:
    """A simulated annotator answering the top of the queue with the reference class."""
    entries = list(QueueEntry.objects.order_by("-priority", "id")[:count])
    truth = dict(
        ReferenceLabel.objects.filter(
            transaction_id__in=[e.transaction_id for e in entries]
        ).values_list("transaction_id", "label_class_id")
    )
    for entry in entries:
        Label.objects.create(
            transaction_id=entry.transaction_id,
            annotator=annotator,
            label_class_id=truth[entry.transaction_id],
            decision=Label.Decision.MANUAL,
            queue_reason=entry.reason,
        )
        entry.delete()
