"""The audit in the product: a frame set aside at import, audit picks drawn from it with their
inclusion probabilities stored on the labels, a queue that serves the planned mix from the first
answer, and quality figures from the audit's answers alone."""

import numpy as np
import pytest

from labeler.models import (
    ImportBatch,
    Label,
    PseudoLabel,
    QueueEntry,
    ReferenceLabel,
    ReviewPolicy,
    Transaction,
)
from labeler.services.demo import demo_data_import, synthetic_frame
from labeler.services.importing import transactions_import
from labeler.services.labeling import label_submit, queue_next_item
from modeling.synthetic import transactions_synthesize
from tests.labeler.training_helpers import label_queue, run, runs_in_this_process

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch, settings, tmp_path):
    runs_in_this_process(
        monkeypatch, settings, tmp_path, queue_size=200, min_new_labels=50, audit_share=0.1
    )


@pytest.fixture
def dataset():
    return demo_data_import(rows=3000, features=8, fraud_rate=0.02, seed=5).dataset


def test_an_import_sets_aside_a_reproducible_audit_frame_without_trusted_rows(tmp_path):
    data = transactions_synthesize(rows=2000, features=4, fraud_rate=0.05, seed=1)
    path = tmp_path / "cards.csv"
    synthetic_frame(data).to_csv(path, index=False)
    first = transactions_import(path=path, dataset_name="first")
    frame = Transaction.objects.filter(dataset=first.dataset, audit_number__isnull=False)
    assert 150 <= frame.count() <= 250  # 10% of 2,000
    numbers = np.array(frame.order_by("id").values_list("audit_number", flat=True))
    assert numbers.min() >= 0 and numbers.max() < 1
    assert not frame.filter(audit_inclusion__isnull=False).exists()  # nothing drawn yet
    again = transactions_import(path=path, dataset_name="again")
    assert list(
        Transaction.objects.filter(dataset=again.dataset, audit_number__isnull=False)
        .order_by("id")
        .values_list("external_id", "audit_number")
    ) == list(frame.order_by("id").values_list("external_id", "audit_number"))
    # Rows that come with a trusted label train the models: none of them is in the frame.
    trusted = transactions_import(
        path=path, dataset_name="trusted", label_mode=ImportBatch.LabelMode.TRUSTED
    )
    rows = Transaction.objects.filter(dataset=trusted.dataset)
    assert not rows.filter(audit_number__isnull=False, labels__isnull=False).exists()


def serve(user, count: int) -> list[QueueEntry]:
    """An annotator answering `count` items as the page serves them, with the reference class."""
    served = []
    for number in range(count):
        entry = queue_next_item(user=user)
        if entry is None:
            break
        truth = ReferenceLabel.objects.get(transaction_id=entry.transaction_id)
        label_submit(
            user=user,
            transaction_id=entry.transaction_id,
            label_class=truth.label_class,
            request_token=f"serve-{entry.transaction_id}-{number}",
        )
        served.append(entry)
    return served


def test_audit_picks_come_from_the_frame_with_their_probabilities_and_the_mix_holds(dataset, bob):
    # No pseudo-label spot checks: one would take a queued pick to the reviewers (one human
    # queue at a time), and which pseudo-labels it draws depends on the version's id.
    ReviewPolicy.objects.update_or_create(pk=1, defaults={"spot_checks_per_class": 0})
    cold = run(dataset)
    assert set(QueueEntry.objects.values_list("reason", flat=True)) == {"cold_start", "audit"}
    label_queue(dataset, bob, 120)
    version = run(dataset)
    plan = dict(
        (reason, QueueEntry.objects.filter(reason=reason).count())
        for reason in set(QueueEntry.objects.values_list("reason", flat=True))
    )
    assert sum(plan.values()) == 200 and plan["audit"] >= 3 and plan["likely_fraud"] > 100
    # Audit picks are frame rows the audit drew; no other pick is ever a frame row.
    audit = QueueEntry.objects.filter(reason="audit").select_related("transaction")
    for entry in audit:
        assert entry.transaction.audit_number < entry.transaction.audit_inclusion
    chosen = QueueEntry.objects.exclude(reason="audit")
    assert not chosen.filter(transaction__audit_number__isnull=False).exists()

    # The first 50 answers carry the plan: the audit's 10%, the rest by their numbers of picks
    # (the audit's picks are what the round is expected to answer, so they all come early).
    served = serve(bob, 50)
    reasons = [entry.reason for entry in served]
    chosen_count = 200 - plan["audit"]
    for reason, planned in plan.items():
        share = 0.1 if reason == "audit" else 0.9 * planned / chosen_count
        assert abs(reasons.count(reason) - 50 * share) <= 1, (reason, reasons.count(reason))
    answers = Label.objects.filter(annotator=bob, queue_reason="audit", suggested_by=version)
    assert answers.count() == reasons.count("audit")
    for label in answers.select_related("transaction"):
        assert label.audit_inclusion_probability == label.transaction.audit_inclusion > 0

    measured = run(dataset)
    quality = measured.metrics["quality"]
    audit_labels = Label.objects.filter(transaction__audit_number__isnull=False)
    assert quality["labels"] == audit_labels.count() == measured.training_counts["audit_labels"]
    assert quality["frauds"] == audit_labels.filter(label_class__is_positive=True).count()
    counts = measured.training_counts
    assert counts["training_labels"] + counts["audit_labels"] == Label.objects.count() == 170
    assert "average_precision" in quality or quality["needed_labels"] > 0
    assert not PseudoLabel.objects.filter(transaction__audit_number__isnull=False).exists()
    # Each version's design only ever raises a frame row's inclusion probability.
    frame = Transaction.objects.filter(audit_number__isnull=False)
    assert not frame.filter(audit_inclusion__isnull=True).exists()
    assert cold.metrics["quality"]["waiting_for"] == "a committee"
