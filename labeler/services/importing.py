"""Transaction import: one file in, all rows or none, with errors that name file, row and column."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.db import transaction as db_transaction
from django.utils import timezone

from labeler.errors import ImportRejected
from labeler.models import Dataset, ImportBatch, Label, LabelClass, ReferenceLabel, Transaction
from labeler.services.bulk_insert import columns_insert, table_statistics_refresh
from labeler.services.import_file import file_unpacked
from labeler.services.import_options import (
    ColumnChoice,
    ImportLimits,
    dataset_name_check,
    names_listed,
)

if TYPE_CHECKING:
    from labeler.services.import_table import ParsedTable

LabelMode = ImportBatch.LabelMode


def class_ids_by_value() -> dict[str, int]:
    """Label values accepted in files: each class's code and its name."""
    mapping: dict[str, int] = {}
    for label_class in LabelClass.objects.all():
        mapping[label_class.code] = label_class.id
        mapping[label_class.name] = label_class.id
    return mapping


def _label_class_ids(table: ParsedTable, file_name: str) -> np.ndarray:
    """Class id per row, -1 where the label cell is empty."""
    accepted = class_ids_by_value()
    column = table.column_mapping["label"]
    class_ids = np.full(table.row_count, -1, dtype=np.int64)
    for value in np.unique(table.labels):
        if value == "":
            continue
        class_id = accepted.get(value)
        if class_id is None:
            # "1.0" written by a spreadsheet means the class coded "1".
            try:
                number = float(value)
                class_id = accepted.get(str(int(number))) if number.is_integer() else None
            except ValueError:
                class_id = None
        if class_id is None:
            row = int(np.flatnonzero(table.labels == value)[0])
            raise ImportRejected(
                f"{file_name}, row {row + 1} (line {row + 2}), column {column!r}: label {value!r} "
                f"is not a configured class; accepted values are {sorted(accepted)}."
            )
        class_ids[table.labels == value] = class_id
    return class_ids


def schema_check(dataset: Dataset, table: ParsedTable, file_name: str) -> None:
    if dataset.feature_names and dataset.feature_names != table.feature_names:
        expected, got = dataset.feature_names, table.feature_names
        missing = [name for name in expected if name not in got]
        extra = [name for name in got if name not in expected]
        detail = []
        if missing:
            detail.append(f"missing {names_listed(missing)}")
        if extra:
            detail.append(f"unexpected {names_listed(extra)}")
        if not detail:
            detail.append("same columns in another order")
        raise ImportRejected(
            f"{file_name}: the feature columns differ from dataset {dataset.name!r} "
            f"({'; '.join(detail)}). Expected {len(expected)} features: "
            f"{names_listed(expected)}."
        )


def roles_check(dataset: Dataset, table: ParsedTable, file_name: str) -> None:
    """A later file names the same card, merchant and category columns as the first did."""
    schema = dataset.schema or {}
    for part in ("card", "merchant"):
        if schema.get(part) != table.schema.get(part):
            raise ImportRejected(
                f"{file_name}: the dataset's {part} column is {schema.get(part)!r}, this file's "
                f"{table.schema.get(part)!r}; name the columns as its first file did."
            )


def _external_ids(dataset: Dataset, table: ParsedTable, file_name: str) -> list[str]:
    if table.external_ids is None:
        # No id column: rows are numbered after those the dataset already holds.
        start = dataset.transactions.count()
        return [str(number) for number in range(start + 1, start + table.row_count + 1)]
    if dataset.transactions.exists():
        existing = set(dataset.transactions.values_list("external_id", flat=True).iterator(10000))
        for row, external_id in enumerate(table.external_ids):
            if external_id in existing:
                raise ImportRejected(
                    f"{file_name}, row {row + 1} (line {row + 2}), column "
                    f"{table.column_mapping['id']!r}: id {external_id!r} is already in dataset "
                    f"{dataset.name!r}."
                )
    return table.external_ids


def _refuse_repeat(dataset: Dataset, checksum: str, file_name: str) -> None:
    earlier = ImportBatch.objects.filter(dataset=dataset, checksum=checksum).first()
    if earlier is not None:
        raise ImportRejected(
            f"{file_name}: this file was already imported into dataset {dataset.name!r} on "
            f"{earlier.created_at:%Y-%m-%d %H:%M} UTC as batch #{earlier.id} "
            f"({earlier.row_count} rows, from {earlier.file_name!r}); nothing was imported again."
        )


def _audit_numbers(batch: ImportBatch, rows: int, trusted: np.ndarray | None) -> np.ndarray:
    """Each row's permanent random number if it falls in the dataset's audit frame, else NaN
    (NULL). Reproducible from the file's checksum. Rows that arrive with a trusted label stay
    out of the frame: that label trains the models."""
    share = batch.dataset.audit_frame_share
    draws = np.random.default_rng(int(batch.checksum[:16], 16)).random(rows)
    numbers = np.where(draws < share, draws / share if share > 0 else 0.0, np.nan)
    if trusted is not None:
        numbers[trusted] = np.nan
    return numbers


def transactions_insert(
    batch: ImportBatch, table: ParsedTable, external_ids: list[str], trusted: np.ndarray | None
) -> None:
    columns_insert(
        Transaction,
        {
            "dataset": batch.dataset_id,
            "import_batch": batch.id,
            "external_id": external_ids,
            "time": table.time,
            "amount": table.amount,
            "features": np.ascontiguousarray(table.features, dtype="<f4"),
            "imported_at": timezone.now(),
            "audit_number": _audit_numbers(batch, table.row_count, trusted),
            "card_key": None if table.card_keys is None else table.card_keys.tolist(),
            "merchant_key": None if table.merchant_keys is None else table.merchant_keys.tolist(),
            "attributes": table.attributes,
        },
        rows=table.row_count,
    )


def _insert_labels(batch: ImportBatch, class_ids: np.ndarray, mode: str) -> int:
    # Ids are handed out in insertion order, so the batch's ids sorted line up with the file rows.
    transaction_ids = np.fromiter(
        Transaction.objects.filter(import_batch=batch).order_by("id").values_list("id", flat=True),
        dtype=np.int64,
        count=len(class_ids),
    )
    labeled = class_ids >= 0
    columns = {"transaction": transaction_ids[labeled], "label_class": class_ids[labeled]}
    count = int(labeled.sum())
    if mode == LabelMode.REFERENCE:
        columns_insert(ReferenceLabel, columns, rows=count)
    else:
        columns_insert(
            Label,
            {
                **columns,
                "decision": Label.Decision.IMPORTED.value,
                "status": Label.Status.ACTIVE.value,
                "import_batch": batch.id,
                "created_at": timezone.now(),
            },
            rows=count,
        )
    return count


def transactions_import(
    *,
    path: str | Path,
    dataset_name: str = "default",
    label_mode: str = LabelMode.IGNORE,
    columns: ColumnChoice | None = None,
    file_name: str | None = None,
    imported_by=None,
) -> ImportBatch:
    """Imports one CSV (plain or .gz) into a dataset: every row, or none and ImportRejected."""
    started = time.perf_counter()
    path = Path(path)
    file_name = file_name or path.name
    if label_mode not in LabelMode.values:
        raise ImportRejected(f"label mode {label_mode!r} is not one of {LabelMode.values}.")
    dataset_name_check(dataset_name)
    # Pandas and the parser load only when a file is read (STYLE.md rule 13).
    from labeler.services.import_table import table_read

    with_labels = label_mode != LabelMode.IGNORE
    known = Dataset.objects.filter(name=dataset_name).values_list("schema", flat=True).first()
    with file_unpacked(path, file_name=file_name, limits=ImportLimits.from_settings()) as text:
        checksum = text.checksum
        table = table_read(
            text.text_path,
            file_name=file_name,
            columns=columns or ColumnChoice(),
            with_labels=with_labels,
            # A later file is encoded as the dataset's first was.
            category_levels=None
            if known is None
            else {column: levels for column, levels in known.get("categorical", [])},
        )
    class_ids = _label_class_ids(table, file_name) if with_labels else None

    with db_transaction.atomic():
        dataset, _ = Dataset.objects.get_or_create(
            name=dataset_name, defaults={"audit_frame_share": settings.AUDIT_FRAME_SHARE}
        )
        dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
        _refuse_repeat(dataset, checksum, file_name)
        first_file = not dataset.feature_names
        if not first_file:
            schema_check(dataset, table, file_name)
            roles_check(dataset, table, file_name)
        external_ids = _external_ids(dataset, table, file_name)
        if first_file:
            dataset.feature_names = table.feature_names
            dataset.schema = table.schema
            dataset.save(update_fields=["feature_names", "schema"])
        batch = ImportBatch.objects.create(
            dataset=dataset,
            file_name=file_name[:255],
            checksum=checksum,
            row_count=table.row_count,
            label_mode=label_mode,
            feature_names=table.feature_names,
            column_mapping=table.column_mapping,
            imported_by=imported_by,
        )
        trusted = (
            class_ids >= 0 if class_ids is not None and label_mode == LabelMode.TRUSTED else None
        )
        transactions_insert(batch, table, external_ids, trusted)
        if class_ids is not None:
            batch.label_count = _insert_labels(batch, class_ids, label_mode)
        batch.duration_seconds = time.perf_counter() - started
        batch.save(update_fields=["label_count", "duration_seconds"])
    # Without fresh statistics SQLite walks the dataset's transactions (285k) to count a few
    # hundred new labels: 35 ms instead of 0.1 ms on every label an annotator submits.
    table_statistics_refresh()
    return batch
