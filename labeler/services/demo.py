"""Demo data: a generator's output written as CSV and fed to the import service: raw card
transactions as an issuer exports them (cards, merchants, dates), or the reference-like layout
of anonymised features."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from labeler.models import ImportBatch, Label, LabelClass, QueueEntry, ReferenceLabel
from labeler.services.importing import transactions_import
from modeling.synthetic import SyntheticTransactions, transactions_synthesize
from modeling.synthetic_raw import RawSimulationConfig, raw_transactions_simulate


def synthetic_frame(data: SyntheticTransactions, *, class_codes: tuple[str, str] = ("0", "1")):
    """The reference file layout: Time, V1..Vn, Amount, Class."""
    frame = pd.DataFrame(data.features, columns=data.feature_names)
    frame.insert(0, "Time", data.time)
    frame["Amount"] = data.amount
    frame["Class"] = [class_codes[label] for label in data.labels]
    return frame


def demo_data_import(
    *,
    rows: int = 50_000,
    features: int = 30,
    fraud_rate: float = 0.005,
    seed: int = 0,
    dataset_name: str = "demo",
) -> ImportBatch:
    data = transactions_synthesize(rows=rows, features=features, fraud_rate=fraud_rate, seed=seed)
    legit = LabelClass.objects.get(name="legit").code
    fraud = LabelClass.objects.get(name="fraud").code
    frame = synthetic_frame(data, class_codes=(legit, fraud))
    return _imported(frame, f"demo-seed{seed}-{rows}.csv", dataset_name, float_format="%.6g")


def _imported(frame: pd.DataFrame, file_name: str, dataset_name: str, **written) -> ImportBatch:
    """The frame written as CSV and imported, its labels held back as reference labels."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / file_name
        frame.to_csv(path, index=False, **written)
        return transactions_import(
            path=path, dataset_name=dataset_name, label_mode=ImportBatch.LabelMode.REFERENCE
        )


def raw_demo_import(
    *,
    customers: int = 500,
    terminals: int = 1_000,
    days: int = 60,
    seed: int = 0,
    dataset_name: str = "demo",
) -> ImportBatch:
    """Simulated raw transactions (modeling/synthetic_raw.py) with their labels held back as
    reference labels, for the simulated annotator and the benchmarks only."""
    simulated = raw_transactions_simulate(
        RawSimulationConfig(customers=customers, terminals=terminals, days=days, seed=seed)
    )
    frame = simulated.frame.copy()
    codes = {
        0: LabelClass.objects.get(name="legit").code,
        1: LabelClass.objects.get(name="fraud").code,
    }
    frame["is_fraud"] = frame["is_fraud"].map(codes)
    return _imported(frame, f"demo-raw-seed{seed}-{customers}x{days}d.csv", dataset_name)


def demo_answers(annotator, count: int) -> int:
    """A simulated annotator for demos, tests and benchmarks: the top `count` queue entries
    answered with their reference class (demo data only: it reads the held-back labels) and
    taken out of the queue. Returns how many were answered."""
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
    return len(entries)
