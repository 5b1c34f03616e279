"""Label exports as CSV, JSON Lines and Parquet, streamed chunk by chunk so that memory stays
bounded whatever the dataset's size.

One row per transaction. Human labels, the reviewer's verdict and the model's pseudo-label sit
in separate columns; `label` / `label_source` say what training would use (reviewer, then the
annotators when they agree, then the pseudo-label).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.db.models import Exists, OuterRef, Q

from labeler.errors import FraudloopError
from labeler.models import Dataset, Label, PseudoLabel, Review, Transaction

CHUNK = 5_000
SLUG = re.compile(r"[-a-zA-Z0-9_]+")

# (name, Arrow type name, meaning): the order of the columns in every format.
COLUMNS: list[tuple[str, str, str]] = [
    ("transaction_id", "int64", "fraudloop's id"),
    ("external_id", "string", "the id in the imported file"),
    ("dataset", "string", ""),
    ("time", "float64", "seconds, as imported"),
    ("amount", "float64", ""),
    ("human_label", "string", "the latest standing human label (active or overruled)"),
    ("human_label_count", "int64", "standing human labels on the transaction"),
    ("human_annotators", "string", "who gave them, ';'-separated ('import' for trusted files)"),
    ("human_disagreement", "bool_", "the standing human labels name different classes"),
    (
        "human_label_known_at",
        "string",
        "ISO 8601: when the latest one's class became known "
        "(a chargeback's date for a delayed label file, else when it was recorded)",
    ),
    ("reviewer_label", "string", "the class the latest standing review settled on"),
    ("reviewer_verdict", "string", "agree or overrule"),
    ("reviewer", "string", ""),
    ("reviewed_at", "string", "ISO 8601"),
    ("pseudo_label", "string", "the newest model version's confident label"),
    ("pseudo_label_probability", "float64", ""),
    ("pseudo_label_version", "int64", "the model version that wrote it"),
    ("model_score", "float64", "the active version's fraud probability"),
    ("model_version", "int64", "the version that scored it"),
    ("label", "string", "what training uses: reviewer > agreeing humans > pseudo-label"),
    ("label_source", "string", "reviewer, human, pseudo or empty"),
    ("audit_frame", "bool_", "in the audit frame: its labels measure the models, never train"),
    ("audit_inclusion", "float64", "the probability that the audit has drawn it by now"),
]
FORMATS = {
    "csv": "text/csv",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}


class ExportRefused(FraudloopError):
    """The export cannot be made as asked (unknown format or dataset)."""


@dataclass
class ExportRequest:
    dataset: Dataset
    labeled_only: bool = False


def export_request_check(*, dataset_name: str | None, format: str, labeled_only: bool = False):
    if format not in FORMATS:
        raise ExportRefused(f"unknown export format {format!r}: use one of {', '.join(FORMATS)}")
    datasets = Dataset.objects.order_by("pk")
    if dataset_name and not SLUG.fullmatch(dataset_name):
        raise ExportRefused(f"{dataset_name!r} is not a dataset name (letters, digits, - and _)")
    if dataset_name:
        dataset = datasets.filter(name=dataset_name).first()
        if dataset is None:
            known = ", ".join(datasets.values_list("name", flat=True)) or "none yet"
            raise ExportRefused(f"no dataset named {dataset_name!r} (datasets: {known})")
    else:
        dataset = datasets.first()
        if dataset is None:
            raise ExportRefused("there is no dataset to export yet: import transactions first")
    return ExportRequest(dataset=dataset, labeled_only=labeled_only)


def _transactions(request: ExportRequest):
    rows = Transaction.objects.filter(dataset=request.dataset)
    if request.labeled_only:
        rows = rows.filter(
            Exists(
                Label.objects.filter(
                    transaction=OuterRef("pk"),
                    status__in=[Label.Status.ACTIVE, Label.Status.OVERRULED],
                )
            )
            | Exists(PseudoLabel.objects.filter(transaction=OuterRef("pk")))
            | Exists(Review.objects.filter(transaction=OuterRef("pk")))
        )
    return rows.order_by("id")


def _chunk_rows(request: ExportRequest, chunk: list[tuple]) -> list[dict]:
    # The chunk's id range, an index range scan; rows of other datasets that fall inside it
    # are never looked up below.
    in_chunk = {"transaction_id__gte": chunk[0][0], "transaction_id__lte": chunk[-1][0]}
    labels = defaultdict(list)
    known_at = {}
    for transaction_id, class_name, annotator, known, recorded in (
        Label.objects.filter(**in_chunk, status__in=[Label.Status.ACTIVE, Label.Status.OVERRULED])
        .order_by("created_at", "id")
        .values_list(
            "transaction_id", "label_class__name", "annotator__username", "known_at", "created_at"
        )
    ):
        labels[transaction_id].append((class_name, annotator or "import"))
        known_at[transaction_id] = (known or recorded).isoformat()
    reviews = {}
    for transaction_id, verdict, new_class, label_class, pseudo_class, reviewer, at in (
        Review.objects.filter(**in_chunk, status=Review.Status.ACTIVE)
        .exclude(verdict=Review.Verdict.SEND_BACK)
        .order_by("created_at", "id")
        .values_list(
            "transaction_id",
            "verdict",
            "new_class__name",
            "label__label_class__name",
            "pseudo_label__label_class__name",
            "reviewer__username",
            "created_at",
        )
    ):
        settled = new_class if verdict == Review.Verdict.OVERRULE else label_class or pseudo_class
        reviews[transaction_id] = (settled, verdict, reviewer, at.isoformat())
    pseudo = {}
    for transaction_id, class_name, probability, version in (
        PseudoLabel.objects.filter(**in_chunk)
        .order_by("model_version_id", "id")
        .values_list("transaction_id", "label_class__name", "probability", "model_version_id")
    ):
        pseudo[transaction_id] = (class_name, probability, version)
    out = []
    for transaction_id, external_id, time, amount, score, scored_by, number, inclusion in chunk:
        human = labels.get(transaction_id, [])
        classes = {class_name for class_name, _ in human}
        review = reviews.get(transaction_id, (None, None, None, None))
        guess = pseudo.get(transaction_id, (None, None, None))
        if review[0] is not None:
            label, source = review[0], "reviewer"
        elif len(classes) == 1:
            label, source = human[-1][0], "human"
        elif not human and guess[0] is not None:
            label, source = guess[0], "pseudo"
        else:
            label, source = None, ""
        out.append(
            {
                "transaction_id": transaction_id,
                "external_id": external_id,
                "dataset": request.dataset.name,
                "time": time,
                "amount": amount,
                "human_label": human[-1][0] if human else None,
                "human_label_count": len(human),
                "human_annotators": ";".join(name for _, name in human) or None,
                "human_disagreement": len(classes) > 1,
                "human_label_known_at": known_at.get(transaction_id),
                "reviewer_label": review[0],
                "reviewer_verdict": review[1],
                "reviewer": review[2],
                "reviewed_at": review[3],
                "pseudo_label": guess[0],
                "pseudo_label_probability": guess[1],
                "pseudo_label_version": guess[2],
                "model_score": score,
                "model_version": scored_by,
                "label": label,
                "label_source": source,
                "audit_frame": number is not None,
                "audit_inclusion": inclusion,
            }
        )
    return out


def export_chunks(request: ExportRequest, *, chunk_size: int = CHUNK) -> Iterator[list[dict]]:
    """The export's rows, `chunk_size` transactions at a time (keyset pagination on the id)."""
    rows = _transactions(request).values_list(
        "id",
        "external_id",
        "time",
        "amount",
        "score",
        "scored_by_id",
        "audit_number",
        "audit_inclusion",
    )
    last = 0
    while True:
        chunk = list(rows.filter(Q(id__gt=last))[:chunk_size])
        if not chunk:
            return
        yield _chunk_rows(request, chunk)
        last = chunk[-1][0]


def export_csv(request: ExportRequest) -> Iterator[bytes]:
    names = [name for name, _, _ in COLUMNS]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    yield buffer.getvalue().encode()
    for chunk in export_chunks(request):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(chunk)
        yield buffer.getvalue().encode()


def export_jsonl(request: ExportRequest) -> Iterator[bytes]:
    for chunk in export_chunks(request):
        yield "".join(json.dumps(row) + "\n" for row in chunk).encode()


def export_parquet(request: ExportRequest, destination: BinaryIO) -> int:
    """Writes one Parquet row group per chunk to `destination` (a file: Parquet's footer comes
    last, so the whole file is written before it can be read). Returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, getattr(pa, kind)()) for name, kind, _ in COLUMNS])
    count = 0
    with pq.ParquetWriter(destination, schema) as writer:
        for chunk in export_chunks(request):
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
            count += len(chunk)
        if count == 0:
            writer.write_table(schema.empty_table())
    return count


def export_filename(request: ExportRequest, format: str) -> str:
    return f"fraudloop-labels-{request.dataset.name}.{format}"
