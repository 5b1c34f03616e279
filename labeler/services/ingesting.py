"""Transactions arriving continuously over the API: one batch (a JSON array of objects or a CSV
body) checked exactly as an import is, in the layout the dataset's first file set, idempotent by
external id, all rows or none. The new rows are scored after the commit (`arrivals`)."""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from celery import current_app
from django.conf import settings
from django.db import transaction as db_transaction

from labeler.errors import ImportRejected
from labeler.models import Dataset, ImportBatch, Transaction, memory
from labeler.services.import_file import file_unpacked
from labeler.services.import_options import ColumnChoice, ImportLimits, names_listed
from labeler.services.importing import roles_check, schema_check, transactions_insert

KINDS = {"json": "JSON batch", "csv": "CSV batch"}
ARRIVALS_TASK = "labeler.tasks.arrivals_score"  # on the light queue (Celery's default)
LOOKUP_CHUNK = 500  # ids per query when looking for rows the dataset holds already


def _enqueue(batch_id: int):
    # By name: services must not import the tasks module that imports them.
    return current_app.send_task(ARRIVALS_TASK, args=[batch_id])


class BatchTooLarge(ImportRejected):
    """Past the configured size of one batch (the API answers 413)."""


@dataclass(frozen=True)
class IngestOutcome:
    received: int
    added: int
    already_present: int  # rows the dataset held already with the same values: not added again
    batch: ImportBatch | None  # None when the batch added nothing


def _first_mapping(dataset_id: int) -> dict | None:
    """The column mapping of the dataset's first file, which never changes once there: from
    memory (a decision reads it on every request); not remembered while there is none."""

    def read():
        return (
            ImportBatch.objects.filter(dataset_id=dataset_id)
            .order_by("id")
            .values_list("column_mapping", flat=True)
            .first()
        )

    mapping = memory.remembered(ImportBatch, read, key=("first mapping", dataset_id))
    if mapping is None:
        memory.forget(ImportBatch)
    return mapping


def ingest_columns(dataset: Dataset, *, require_id: bool = True) -> ColumnChoice:
    """The columns as the dataset's first file named them: a batch must not be read otherwise.
    Without `require_id`, the id column may be missing (rows scored, not stored)."""
    mapping = _first_mapping(dataset.pk)
    if mapping is None or not dataset.feature_names:
        raise ImportRejected(
            f"dataset {dataset.name!r} has no transactions yet: import a first file (it sets "
            "the columns) before sending batches."
        )
    if not require_id:
        mapping = {**mapping, "id": None}
    elif not mapping.get("id"):
        raise ImportRejected(
            f"dataset {dataset.name!r} was imported without an id column: batches are matched "
            "by id (a batch sent twice must add nothing), so send batches to a dataset whose "
            "files have one."
        )
    return ColumnChoice(
        id_column=mapping["id"],
        time_column=mapping["time"],
        amount_column=mapping["amount"],
        label_column=None,  # arrivals carry no label; one named like a label is left out
        feature_columns=tuple(mapping["features"]),
        card_column=mapping.get("card") or "",
        merchant_column=mapping.get("merchant") or "",
        categorical_columns=tuple(mapping.get("categorical") or ()),
        text_columns=tuple(mapping.get("text") or ()),
    )


def _json_as_csv(body: bytes, out: Path, max_rows: int) -> None:
    """A JSON array of flat objects, all with the same keys, written as CSV."""
    name = KINDS["json"]
    try:
        items = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ImportRejected(f"{name}: not valid JSON ({error}).") from error
    if not isinstance(items, list) or not items:
        raise ImportRejected(f"{name}: expected a non-empty array of objects, one per transaction.")
    if len(items) > max_rows:
        raise BatchTooLarge(_too_many(name, len(items), max_rows))
    header = list(items[0]) if isinstance(items[0], dict) else []
    with out.open("w", newline="", encoding="utf-8") as text:
        writer = csv.writer(text)
        writer.writerow(header)
        for number, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise ImportRejected(f"{name}, item {number}: not an object.")
            if item.keys() != set(header):
                missing = [key for key in header if key not in item]
                extra = [key for key in item if key not in header]
                detail = "; ".join(
                    part
                    for part in (
                        f"missing {names_listed(missing)}" if missing else "",
                        f"unexpected {names_listed(extra)}" if extra else "",
                    )
                    if part
                )
                raise ImportRejected(
                    f"{name}, item {number}: its keys differ from the first item's ({detail})."
                )
            row = []
            for key in header:
                value = item[key]
                if isinstance(value, dict | list):
                    raise ImportRejected(
                        f"{name}, item {number}, column {key!r}: a nested value; each value is "
                        "a number, a text or null."
                    )
                row.append("" if value is None else str(value))
            writer.writerow(row)


def _too_many(name: str, rows: int, max_rows: int) -> str:
    return (
        f"{name}: {rows:,} rows is more than one batch may hold ({max_rows:,}, "
        "INGEST_MAX_ROWS): split it."
    )


def _stored_differences(
    dataset: Dataset, table, name: str, *, lines: bool
) -> tuple[np.ndarray, str | None]:
    """(bool per row: the dataset holds this id already, the first difference found as a message
    or None). A row held already must be the same transaction: same time, amount, features,
    card and merchant."""
    ids = table.external_ids
    position = {external_id: row for row, external_id in enumerate(ids)}
    present = np.zeros(len(ids), bool)
    for start in range(0, len(ids), LOOKUP_CHUNK):
        stored = Transaction.objects.filter(
            dataset=dataset, external_id__in=ids[start : start + LOOKUP_CHUNK]
        ).values_list("external_id", "time", "amount", "features", "card_key", "merchant_key")
        for external_id, time, amount, features, card, merchant in stored:
            row = position[external_id]
            present[row] = True
            sent = {
                "time": float(table.time[row]),
                "amount": float(table.amount[row]),
                "features": np.ascontiguousarray(table.features[row], dtype="<f4").tobytes(),
                "card": None if table.card_keys is None else table.card_keys[row],
                "merchant": None if table.merchant_keys is None else table.merchant_keys[row],
            }
            held = {
                "time": time,
                "amount": amount,
                "features": bytes(features),
                "card": card,
                "merchant": merchant,
            }
            changed = [part for part in sent if sent[part] != held[part]]
            if changed:
                where = f"row {row + 1} (line {row + 2})" if lines else f"item {row + 1}"
                return present, (
                    f"{name}, {where}: id {external_id!r} is in dataset {dataset.name!r} "
                    f"already with another {' and '.join(changed)}; a batch may repeat a "
                    "transaction (a retry) but not change it."
                )
    return present, None


def batch_table(dataset: Dataset, body: bytes, kind: str, *, with_ids: bool = True):
    """The batch read in the dataset's layout (a ParsedTable), or ImportRejected naming row
    and column (BatchTooLarge past the size limit). `with_ids`: the dataset's id column is
    required (to store the rows); else it may be left out (a decision asked for)."""
    if kind not in KINDS:
        raise ImportRejected(f"batch kind {kind!r} is not one of {sorted(KINDS)}.")
    name, max_rows = KINDS[kind], settings.INGEST_MAX_ROWS
    if len(body) > settings.INGEST_MAX_BYTES:
        raise BatchTooLarge(
            f"{name}: {len(body):,} bytes is more than one batch may hold "
            f"({settings.INGEST_MAX_BYTES:,}, INGEST_MAX_BYTES): split it."
        )
    columns = ingest_columns(dataset, require_id=with_ids)
    # Pandas and the parser load only when a batch is read (STYLE.md rule 13).
    from labeler.services.import_table import table_read

    levels = (
        {column: kept for column, kept in dataset.schema.get("categorical", [])}
        if dataset.schema
        else {}
    )

    def read(path: Path):
        return table_read(
            path,
            file_name=name,
            columns=columns,
            with_labels=False,
            category_levels=levels,
            lines=kind == "csv",
            with_attributes=with_ids,  # shown columns are kept only with stored rows
        )

    with tempfile.TemporaryDirectory(prefix="fraudloop-ingest-") as folder:
        path = Path(folder) / "batch.csv"
        if kind == "json":
            _json_as_csv(body, path, max_rows)  # UTF-8 CSV written here: nothing to check
            table = read(path)
        else:
            path.write_bytes(body)
            limits = ImportLimits(
                max_text_bytes=settings.INGEST_MAX_BYTES * 4, max_rows=max_rows + 1
            )
            with file_unpacked(path, file_name=name, limits=limits) as text:
                table = read(text.text_path)
    if table.row_count > max_rows:
        raise BatchTooLarge(_too_many(name, table.row_count, max_rows))
    return table


def transactions_ingest(
    *, dataset: Dataset, body: bytes, kind: str, submitted_by=None
) -> IngestOutcome:
    """Adds the batch's new transactions to the dataset: every new row or none, and
    ImportRejected (BatchTooLarge past the size limit) naming row and column. Rows whose id the
    dataset holds with the same values are left as they are (a retried batch adds nothing)."""
    from labeler.services.import_table import table_rows

    name = KINDS.get(kind, kind)
    table = batch_table(dataset, body, kind)

    with db_transaction.atomic():
        # One batch of a dataset at a time: two copies of one retried batch must not both add.
        dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
        schema_check(dataset, table, name)
        roles_check(dataset, table, name)
        present, difference = _stored_differences(dataset, table, name, lines=kind == "csv")
        if difference:
            raise ImportRejected(difference)
        new = table_rows(table, ~present)
        if new.row_count == 0:
            return IngestOutcome(table.row_count, 0, table.row_count, None)
        batch = ImportBatch.objects.create(
            dataset=dataset,
            source=ImportBatch.Source.ARRIVALS,
            file_name=f"{name} over the API",
            # The new rows' ids: a set of ids is added once, so it is unique in the dataset.
            checksum=hashlib.sha256("\n".join(new.external_ids).encode()).hexdigest(),
            row_count=new.row_count,
            label_mode=ImportBatch.LabelMode.IGNORE,
            feature_names=new.feature_names,
            column_mapping=new.column_mapping,
            imported_by=submitted_by,
        )
        transactions_insert(batch, new, new.external_ids, None)
        db_transaction.on_commit(lambda: _enqueue(batch.pk))
    return IngestOutcome(table.row_count, new.row_count, int(present.sum()), batch)
