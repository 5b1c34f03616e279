"""Delayed labels: chargebacks and confirmed cases that arrive days after their transactions, as a
file of (transaction id, class, date known), imported as trusted labels onto transactions the
dataset already holds. All or nothing; an unknown id or class is an error naming it.

A transaction that already has an imported label of the same class keeps it (a file sent twice
changes nothing); one of another class is superseded by the newer (a chargeback reversed) and
kept in the history. People's own labels stay as they are: if they disagree with the file, the
item waits for a reviewer, as any disagreement does.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from django.db import transaction as db_transaction
from django.utils import timezone

from labeler.errors import ImportRejected
from labeler.models import Dataset, ImportBatch, Label, Transaction
from labeler.services.bulk_insert import columns_insert
from labeler.services.import_file import file_unpacked
from labeler.services.import_options import ImportLimits, names_listed

ID_NAMES = ("transaction_id", "id", "external_id")
CLASS_NAMES = ("class", "label", "is_fraud")
KNOWN_NAMES = ("known_at", "date_known", "chargeback_date", "reported_at", "date")


def _column(frame, candidates: tuple[str, ...], role: str, file_name: str, *, required=True):
    by_lower = {name.lower().strip(): name for name in frame.columns}
    found = next((by_lower[c] for c in candidates if c in by_lower), None)
    if found is None and required:
        raise ImportRejected(
            f"{file_name}, line 1: no {role} column (looked for {', '.join(candidates)}); the "
            f"file has {names_listed([str(c) for c in frame.columns])}."
        )
    return found


def _read(text_path: Path, file_name: str):
    import pandas as pd

    try:
        frame = pd.read_csv(text_path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as error:
        raise ImportRejected(f"{file_name}: not a well-formed CSV file ({error}).") from error
    if frame.empty:
        raise ImportRejected(f"{file_name}: the header is there but no data rows follow.")
    id_column = _column(frame, ID_NAMES, "transaction id", file_name)
    class_column = _column(frame, CLASS_NAMES, "class", file_name)
    known_column = _column(frame, KNOWN_NAMES, "date known", file_name, required=False)
    ids = frame[id_column].str.strip()
    duplicated = ids.duplicated(keep=False).to_numpy()
    if duplicated.any():
        rows = np.flatnonzero((ids == ids[duplicated].iloc[0]).to_numpy())
        raise ImportRejected(
            f"{file_name}, row {rows[1] + 1} (line {rows[1] + 2}), column {id_column!r}: "
            f"transaction {ids.iloc[rows[0]]!r} also appears on row {rows[0] + 1}."
        )
    known = None
    if known_column is not None:
        known = pd.to_datetime(frame[known_column], errors="coerce", utc=True, format="ISO8601")
        bad = known.isna().to_numpy()
        if bad.any():
            row = int(np.argmax(bad))
            raise ImportRejected(
                f"{file_name}, row {row + 1} (line {row + 2}), column {known_column!r}: "
                f"{frame[known_column].iloc[row]!r} is not an ISO date-time like "
                "2026-02-01T10:00:00Z."
            )
    return ids.tolist(), frame[class_column].str.strip().tolist(), known, class_column


def _class_ids(values: list[str], column: str, file_name: str) -> np.ndarray:
    from labeler.services.importing import class_ids_by_value

    accepted = class_ids_by_value()
    result = np.empty(len(values), np.int64)
    for row, value in enumerate(values):
        class_id = accepted.get(value)
        if class_id is None:
            raise ImportRejected(
                f"{file_name}, row {row + 1} (line {row + 2}), column {column!r}: {value!r} is "
                f"not a configured class; accepted values are {sorted(accepted)}."
            )
        result[row] = class_id
    return result


def labels_import(
    *, path: str | Path, dataset_name: str, file_name: str | None = None, imported_by=None
) -> ImportBatch:
    """Imports one file of delayed labels onto the dataset's transactions: every row, or none
    and ImportRejected. The batch counts the labels that are new."""
    started = time.perf_counter()
    path = Path(path)
    file_name = file_name or path.name
    with file_unpacked(path, file_name=file_name, limits=ImportLimits.from_settings()) as text:
        checksum = text.checksum
        external_ids, classes, known, class_column = _read(text.text_path, file_name)
    class_ids = _class_ids(classes, class_column, file_name)
    dataset = Dataset.objects.filter(name=dataset_name).first()
    if dataset is None:
        raise ImportRejected(f"{file_name}: there is no dataset {dataset_name!r} to label.")
    with db_transaction.atomic():
        dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
        found = dict(
            Transaction.objects.filter(dataset=dataset, external_id__in=external_ids).values_list(
                "external_id", "id"
            )
        )
        unknown = [external_id for external_id in external_ids if external_id not in found]
        if unknown:
            raise ImportRejected(
                f"{file_name}: {len(unknown):,} transaction id(s) are not in dataset "
                f"{dataset.name!r}: {names_listed(unknown)}. Nothing was imported."
            )
        if ImportBatch.objects.filter(dataset=dataset, checksum=checksum).exists():
            raise ImportRejected(
                f"{file_name}: this file was already imported into dataset {dataset.name!r}; "
                "nothing was imported again."
            )
        transaction_ids = np.asarray([found[e] for e in external_ids], np.int64)
        imported = Label.objects.filter(
            transaction_id__in=transaction_ids.tolist(),
            status=Label.Status.ACTIVE,
            annotator__isnull=True,
        )
        standing = dict(imported.values_list("transaction_id", "label_class_id"))
        new = np.asarray(
            [standing.get(int(t)) != c for t, c in zip(transaction_ids, class_ids, strict=True)]
        )
        changed = [
            int(t)
            for t, is_new in zip(transaction_ids, new, strict=True)
            if is_new and int(t) in standing
        ]
        imported.filter(transaction_id__in=changed).update(status=Label.Status.SUPERSEDED)
        batch = ImportBatch.objects.create(
            dataset=dataset,
            file_name=file_name[:255],
            checksum=checksum,
            row_count=len(external_ids),
            label_mode=ImportBatch.LabelMode.TRUSTED,
            column_mapping={"kind": "delayed labels", "changed": len(changed)},
            imported_by=imported_by,
        )
        now = timezone.now()
        columns_insert(
            Label,
            {
                "transaction": transaction_ids[new],
                "label_class": class_ids[new],
                "decision": Label.Decision.IMPORTED.value,
                "status": Label.Status.ACTIVE.value,
                "import_batch": batch.id,
                "created_at": now,
                # When each class became known: the file's dates, or now.
                "known_at": now
                if known is None
                else known.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()[new],
            },
            rows=int(new.sum()),
        )
        batch.label_count = int(new.sum())
        batch.duration_seconds = time.perf_counter() - started
        batch.save(update_fields=["label_count", "duration_seconds"])
    return batch
