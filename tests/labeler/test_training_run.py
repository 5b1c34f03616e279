"""A whole training run in this process, on a small demo dataset: what annotators see changes
only when a complete version activates, and never when a run fails."""

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from labeler.models import (
    Label,
    ModelVersion,
    PseudoLabel,
    QueueEntry,
    ReviewItem,
    StagedScore,
    Transaction,
)
from labeler.services.demo import demo_data_import
from labeler.services.training import run as training_service
from labeler.services.training import scoring as scoring_service
from labeler.services.training.evidence import share_evidence_gather
from labeler.services.training.options import TrainingOptions
from labeler.services.training.rescoring import transaction_scores_by_version
from labeler.services.training_data import training_arrays_build
from labeler.services.training_runs import training_stale_runs_fail
from modeling.committee_shares import shares_learn
from modeling.features import feature_matrix
from modeling.model_files import bundle_load
from modeling.sgan_ensemble import SGANEnsemble
from modeling.trees import TreesConfig
from tests.labeler.training_helpers import label_queue, run, runs_in_this_process, small_options

pytestmark = pytest.mark.django_db

Status = ModelVersion.Status


@pytest.fixture(autouse=True)
def no_broker(monkeypatch, settings, tmp_path):
    runs_in_this_process(monkeypatch, settings, tmp_path, queue_size=120)


@pytest.fixture
def dataset():
    return demo_data_import(rows=3000, features=8, fraud_rate=0.02, seed=5).dataset


def visible_state():
    """Everything an annotator can see of the model: scores, the queue, pseudo-labels."""
    return (
        list(Transaction.objects.values_list("id", "score", "suggested_class", "scored_by")),
        list(
            QueueEntry.objects.values_list(
                "transaction", "priority", "reason", "model_version", "leased_to"
            )
        ),
        list(PseudoLabel.objects.values_list("id", "transaction", "model_version")),
        list(ModelVersion.objects.filter(status=Status.ACTIVE).values_list("id", flat=True)),
    )


def test_cold_start_then_a_committee_version_with_metrics_queue_and_pseudo_labels(
    dataset, bob, alice
):
    cold = run(dataset)
    assert cold.status == Status.ACTIVE and cold.kind == ModelVersion.Kind.AUTOENCODER
    assert cold.device == "cpu" and cold.durations["total"] > 0
    # What arrivals are compared with: the score and every input, on the rows it trained on.
    assert cold.metrics["drift"]["columns"][:2] == ["fraud score", dataset.feature_names[0]]
    # The version records which detectors its cold start ran, how long each took, and how
    # their ranks were combined.
    record = cold.metrics["anomaly"]
    assert record["combine"] == "median"
    assert set(record["detectors"]) == {"denoising", "alocc", "isolation_forest"}
    for name, detector in record["detectors"].items():
        assert detector["weight"] == (2.0 if name == "alocc" else 1.0)
        assert detector["fit_seconds"] > 0
        assert cold.durations[f"anomaly:{name}"] == detector["fit_seconds"]
    # The configured order is a list; the record is a JSON object, whose key order PostgreSQL's
    # jsonb does not keep.
    assert cold.hyperparameters["anomaly"]["detectors"] == [
        "denoising",
        "alocc",
        "isolation_forest",
    ]
    stages = {k: v for k, v in cold.durations.items() if ":" not in k and k != "total"}
    assert cold.durations["total"] == pytest.approx(
        sum(stages.values()) - stages["switch"], abs=0.01
    )
    assert set(QueueEntry.objects.values_list("reason", flat=True)) == {"cold_start", "audit"}
    assert QueueEntry.objects.count() == 120
    assert not Transaction.objects.filter(score__isnull=True).exists()

    label_queue(dataset, bob, 120)
    frauds = Label.objects.filter(label_class__is_positive=True).count()
    assert frauds >= 4  # the anomaly ranking finds frauds before any model has seen one

    version = run(dataset)
    assert version.status == Status.ACTIVE and version.kind == ModelVersion.Kind.SGAN
    cold.refresh_from_db()
    assert cold.status == Status.READY  # kept, with its metrics, no longer active
    assert version.training_counts["human_labels"] == 120
    counts = version.training_counts
    assert counts["positives"] + counts["audit_positives"] == frauds  # training + audit
    assert version.metrics["cross_validation"]["average_precision"] > 0.3
    assert set(version.durations) >= {"reading", "weak", "sgan", "scoring", "activating"}
    # Every transaction scored by the new version; labeled ones are not queued again.
    assert set(Transaction.objects.values_list("scored_by", flat=True)) == {version.pk}
    labeled = set(Label.objects.values_list("transaction_id", flat=True))
    queued = set(QueueEntry.objects.values_list("transaction_id", flat=True))
    assert queued and not queued & labeled
    assert set(QueueEntry.objects.values_list("model_version", flat=True)) == {version.pk}
    assert "likely_fraud" in set(QueueEntry.objects.values_list("reason", flat=True))
    # Each queued item says why the version scores it so, by inputs a person can name.
    assert not QueueEntry.objects.filter(explanation__isnull=True).exists()  # < 2,000 items
    names = {*dataset.feature_names, "amount", "hour of day", "unusual overall (anomaly detectors)"}
    labeled_ids = set(Label.objects.values_list("transaction_id", flat=True))
    for explanation in QueueEntry.objects.values_list("explanation", flat=True):
        reasons = explanation["reasons"]
        assert len(reasons) <= 3 and {r["name"] for r in reasons} <= names
        assert all(abs(r["log_odds"]) >= 0.05 for r in reasons)
        # The nearest transactions people labeled, with the class they gave.
        assert len(explanation["nearest"]) == 3
        assert {pk for pk, _ in explanation["nearest"]} <= labeled_ids
        assert {name for _, name in explanation["nearest"]} <= {"legit", "fraud"}
    assert any(
        explanation for explanation in QueueEntry.objects.values_list("explanation", flat=True)
    )
    # Pseudo-labels: this version's only, never on a human-labeled row nor on one it queued
    # for people (whose spot check would take it out of the queue).
    pseudo = PseudoLabel.objects.filter(model_version=version)
    assert pseudo.exists() and not pseudo.filter(transaction_id__in=labeled).exists()
    assert not pseudo.filter(transaction_id__in=queued).exists()
    assert QueueEntry.objects.count() == version.training_counts["queue_planned"] == 120
    assert not PseudoLabel.objects.exclude(model_version=version).exists()
    assert not StagedScore.objects.exists()
    bundle = bundle_load(version.artifact_path)
    assert bundle.committee.sgan is not None and bundle.class_names == ["legit", "fraud"]
    # No committee before it to judge: the members weigh as the priors say.
    assert bundle.committee.anomaly is bundle.anomaly  # the detectors' rank is a member
    assert version.metrics["committee"] == {
        "sgan_share": 0.5,
        "anomaly_share": 0.4,
        "trees_share": None,  # no tree member in this run
        "record_answers": 0,
        "record_positives": 0,
    }

    # Reviewers get a random sample of each class's pseudo-labels to spot-check.
    by_class = version.training_counts["pseudo_labels_by_class"]
    assert sum(by_class.values()) == pseudo.count()
    checks = ReviewItem.objects.filter(reason="spot_check", pseudo_label__model_version=version)
    assert checks.count() == sum(min(count, 10) for count in by_class.values())
    # The transaction's history scores it again with every kept version, from the model files.
    row = Transaction.objects.filter(labels__isnull=True).first()
    history = {s.version.pk: s for s in transaction_scores_by_version(transaction=row)}
    assert history[version.pk].fraud_probability == pytest.approx(row.score, abs=1e-5)
    assert history[cold.pk].fraud_probability is None and history[cold.pk].anomaly > 0

    label_queue(dataset, bob, 30)
    # The audit's answers never train, so they are no record of the members either.
    new_labels = [x for x in Label.objects.order_by("-id")[:30] if x.queue_reason != "audit"]
    assert 0 < len(new_labels) < 30
    # A second opinion on an item the last version trained on is not an answer it had not seen.
    seen = Label.objects.order_by("id").first()
    Label.objects.create(
        transaction_id=seen.transaction_id,
        annotator=alice,
        label_class_id=seen.label_class_id,
        decision=Label.Decision.MANUAL,
    )
    still_unlabeled = pseudo.exclude(transaction__labels__isnull=False).count()
    in_review = set(
        ReviewItem.objects.filter(resolved_at__isnull=True).values_list("transaction_id", flat=True)
    )
    assert in_review
    steady = run(dataset)
    # What waits for a reviewer is not planned: the queue serves the whole plan, in its mix.
    assert steady.training_counts["in_review"] == len(in_review)
    assert QueueEntry.objects.count() == steady.training_counts["queue_planned"] == 120
    # The last version's members, judged on the answers given since it trained, set the
    # SGAN's share; the record goes on in the model file for the version after.
    record = bundle_load(steady.artifact_path).committee
    assert len(record.share_evidence.labels) == len(new_labels)
    assert set(record.share_evidence.members) == {"weak", "sgan", "anomaly"}
    positives = sum(label.label_class.is_positive for label in new_labels)
    assert int(record.share_evidence.labels.sum()) == positives
    members = bundle.committee.member_proba(
        bundle.scaler.transform(_features_of([label.transaction_id for label in new_labels]))
    )
    for name in ("weak", "sgan", "anomaly"):
        assert np.allclose(
            np.sort(record.share_evidence.members[name][:, 1]), np.sort(members[name][:, 1])
        )
    shares = shares_learn(record.share_evidence, record.config)
    assert record.shares == shares
    assert steady.metrics["committee"]["record_answers"] == len(new_labels)
    assert steady.metrics["committee"]["record_positives"] == positives
    assert steady.training_counts["pseudo_labels_in"] == still_unlabeled > 0
    assert steady.training_counts["human_labels"] == 150
    # The previous version's unchecked spot checks went with its pseudo-labels.
    assert not ReviewItem.objects.filter(pseudo_label__model_version=version).exists()


def _features_of(transaction_ids) -> np.ndarray:
    rows = list(Transaction.objects.filter(pk__in=transaction_ids))
    return feature_matrix(
        np.stack([row.feature_vector for row in rows]),
        np.asarray([row.amount for row in rows], np.float64),
        np.asarray([row.time for row in rows], np.float64),
    )


def test_with_no_detectors_configured_the_cold_start_follows_the_datasets_inputs(
    dataset, raw_dataset
):
    """A file of numbers gets the robust Mahalanobis distance, counting twice, beside ALOCC
    and the forest; a file with categories, cards and merchants the general default."""
    options = replace(small_options(), anomaly=None, anomaly_epochs=1)
    numbers = run(dataset, options)
    record = numbers.metrics["anomaly"]
    assert set(record["detectors"]) == {"alocc", "isolation_forest", "mahalanobis"}
    assert {n: d["weight"] for n, d in record["detectors"].items()} == {
        "alocc": 1.0,
        "isolation_forest": 1.0,
        "mahalanobis": 2.0,
    }
    assert numbers.hyperparameters["anomaly"]["alocc"]["epochs"] == 1
    raw = run(raw_dataset, options)
    assert raw.status == Status.ACTIVE
    assert set(raw.metrics["anomaly"]["detectors"]) == {"denoising", "alocc", "isolation_forest"}
    assert raw.metrics["anomaly"]["detectors"]["alocc"]["weight"] == 2.0
    assert raw.hyperparameters["anomaly"]["denoising"]["epochs"] == 1


def test_a_lease_on_an_item_that_stays_queued_survives_the_swap(dataset, bob):
    run(dataset)
    entry = QueueEntry.objects.order_by("-priority").first()
    entry.leased_to = bob
    entry.lease_expires_at = timezone.now() + timedelta(minutes=4)  # bob is looking at it
    entry.save()
    run(dataset)  # no new labels: the same anomaly ranking puts the item in the queue again
    kept = QueueEntry.objects.get(transaction=entry.transaction)
    assert kept.leased_to == bob and kept.lease_expires_at == entry.lease_expires_at
    # Left exactly as bob sees it: the first version's suggestion, reason and place.
    assert ModelVersion.objects.get(status=Status.ACTIVE) != entry.model_version
    assert (kept.model_version, kept.score, kept.reason, kept.priority) == (
        entry.model_version,
        entry.score,
        entry.reason,
        entry.priority,
    )


def test_an_exception_in_training_fails_the_version_and_changes_nothing(dataset, bob, monkeypatch):
    run(dataset)
    label_queue(dataset, bob, 120)
    before = visible_state()

    def explode(*args, **kwargs):
        raise RuntimeError("out of memory on the training worker")

    monkeypatch.setattr(training_service, "committee_train", explode)
    failed = run(dataset)
    assert failed.status == Status.FAILED
    assert "RuntimeError: out of memory" in failed.error and "stage 'weak'" in failed.error
    assert visible_state() == before
    assert not StagedScore.objects.exists()
    monkeypatch.undo()
    assert run(dataset).status == Status.ACTIVE  # the next trigger succeeds


def test_a_model_file_that_cannot_be_read_back_is_never_activated(dataset, monkeypatch):
    run(dataset)
    before = visible_state()
    real_save = training_service.bundle_save

    def damaged_save(bundle, path):
        real_save(bundle, path)
        with open(path, "r+b") as handle:
            handle.seek(100)
            handle.write(b"\x00" * 64)

    monkeypatch.setattr(training_service, "bundle_save", damaged_save)
    failed = run(dataset)
    assert failed.status == Status.FAILED and "model file" in failed.error
    assert visible_state() == before


def test_a_run_declared_stale_while_training_cannot_activate(dataset, monkeypatch):
    run(dataset)
    before = visible_state()
    real_stage = scoring_service.scores_stage

    def stage_then_lose_the_claim(*args, **kwargs):
        real_stage(*args, **kwargs)
        training_stale_runs_fail(worker="test")  # as if the worker had restarted meanwhile

    monkeypatch.setattr(scoring_service, "scores_stage", stage_then_lose_the_claim)
    failed = run(dataset)
    assert failed.status == Status.FAILED and "restarted" in failed.error
    assert visible_state() == before
    assert not StagedScore.objects.exists()


def test_progress_is_reported_stage_by_stage_up_to_100(dataset):
    seen = []
    run(dataset, listeners=(lambda stage, percent: seen.append((stage, percent)),))
    stages = [stage for stage, _ in seen]
    assert stages[0] == "reading" and stages[-1] == "activating"
    percents = [percent for _, percent in seen]
    assert percents == sorted(percents) and np.max(percents) >= 95


def test_every_reason_acquisition_gives_is_a_queue_reason():
    from modeling import acquisition

    reasons = {value for name, value in vars(acquisition).items() if name.startswith("REASON_")}
    assert reasons and reasons <= set(QueueEntry.Reason.values)


def test_the_record_counts_only_answers_the_last_version_never_saw(dataset, bob):
    run(dataset)
    label_queue(dataset, bob, 120)
    version = run(dataset)
    label_queue(dataset, bob, 20)
    answered = Label.objects.order_by("-id")[:20]
    training_answers = sum(label.queue_reason != "audit" for label in answered)
    arrays = training_arrays_build(dataset=dataset)
    assert share_evidence_gather(None, arrays) is None
    assert len(share_evidence_gather(version, arrays).labels) == training_answers
    # A version that does not say what it trained on: none of the labels is safe to count.
    unknown = ModelVersion.objects.get(pk=version.pk)
    unknown.training_counts = {}
    assert share_evidence_gather(unknown, arrays) is None  # its own record: none yet
    # A file that cannot be read: no record carried on, and the run goes on with the priors.
    Path(version.artifact_path).write_bytes(b"not a model")
    assert share_evidence_gather(version, arrays) is None
    assert run(dataset).metrics["committee"]["record_answers"] == 0


def test_a_run_fits_on_a_sample_of_the_unlabeled_rows_and_still_scores_every_row(dataset, bob):
    run(dataset)
    label_queue(dataset, bob, 120)
    version = run(dataset, options=replace(small_options(), unlabeled_sample=400))
    assert version.status == Status.ACTIVE and version.kind == ModelVersion.Kind.SGAN
    counts = version.training_counts
    # Every label and pseudo-label trains; of the other rows outside the frame, 400.
    assert counts["fitted_on"] == counts["training_labels"] + counts["pseudo_labels_in"] + 400
    assert version.hyperparameters["unlabeled_sample"] == 400
    assert not Transaction.objects.exclude(scored_by=version).exists()
    assert QueueEntry.objects.filter(model_version=version).count() == 120


def test_a_run_with_the_tree_member_records_it_and_scores_with_it(dataset, bob, settings):
    run(dataset)
    label_queue(dataset, bob, 120)
    assert TrainingOptions.from_settings().committee.use_trees  # on by default
    settings.TRAINING_TREES = False
    assert not TrainingOptions.from_settings().committee.use_trees
    options = small_options()
    options.committee = replace(
        options.committee, use_trees=True, trees=TreesConfig(iterations=20, background_rows=500)
    )
    version = run(dataset, options=options)
    assert version.status == Status.ACTIVE
    assert version.metrics["committee"]["trees_share"] == 0.25  # the prior: no record of trees
    assert version.hyperparameters["committee"]["use_trees"] is True
    assert version.durations["trees"] > 0
    bundle = bundle_load(version.artifact_path)
    assert bundle.committee.trees is not None
    # The stored score is the committee's with the trees in its mix, as the file scores it.
    row = Transaction.objects.filter(labels__isnull=True).first()
    history = {s.version.pk: s for s in transaction_scores_by_version(transaction=row)}
    assert history[version.pk].fraud_probability == pytest.approx(row.score, abs=1e-5)
    without = replace(bundle.committee, trees=None)
    x = bundle.scaler.transform(
        feature_matrix(
            row.feature_vector[None, :], np.asarray([row.amount]), np.asarray([row.time])
        )
    )
    assert bundle.committee.predict_proba(x)[0, 1] == pytest.approx(row.score, abs=1e-5)
    assert without.predict_proba(x)[0, 1] != pytest.approx(row.score, abs=1e-5)


def test_a_run_with_an_sgan_ensemble_records_it_and_scores_with_its_mean(dataset, bob):
    run(dataset)
    label_queue(dataset, bob, 120)
    single = run(dataset)  # on a CPU, with members left to the device: one SGAN
    assert single.metrics["sgan"]["members"] == 1
    assert single.hyperparameters["committee"]["sgan"]["members"] == 1
    version = run(dataset, options=replace(small_options(), sgan_members=3))
    assert version.status == Status.ACTIVE and version.kind == ModelVersion.Kind.SGAN
    record = version.metrics["sgan"]
    assert record["members"] == 3 and len(record["best_steps"]) == 3
    assert len(record["history"][0]["member_validation_ap"]) == 3
    assert version.hyperparameters["committee"]["sgan"]["members"] == 3
    bundle = bundle_load(version.artifact_path)
    assert isinstance(bundle.committee.sgan, SGANEnsemble)
    row = Transaction.objects.filter(labels__isnull=True).first()
    x = bundle.scaler.transform(
        feature_matrix(
            row.feature_vector[None, :], np.asarray([row.amount]), np.asarray([row.time])
        )
    )
    assert bundle.committee.predict_proba(x)[0, 1] == pytest.approx(row.score, abs=1e-5)
