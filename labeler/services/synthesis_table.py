"""A dataset as the generators learn it, and a generated table written back in the dataset's own
import layout (so the file imports as a new dataset).

Each row's class is the best one known: a reviewer's or the annotators' settled class, else the
active version's pseudo-label, else the background class. Reference labels are never read. Card
and merchant ids are identifiers, not categories: the file gets new, made-up ones, drawn so that
the number of transactions per card (and per merchant) keeps its real spread; what a card did
before is not modelled. Text columns (a description) and columns kept only for people are left
out: they can name a merchant or a person, and the report says so."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from labeler.errors import FraudloopError
from labeler.models import Dataset, ImportBatch, LabelClass, ModelVersion, PseudoLabel, Transaction
from labeler.services.training_data import human_classes_settled

if TYPE_CHECKING:
    import pandas as pd

MAX_WRITTEN_CATEGORIES = 200  # the generators' limit; rarer values are written as "other"
EMPTY = "(empty)"


class SynthesisRejected(FraudloopError):
    """A synthetic copy cannot be made of this dataset as it stands."""


@dataclass
class FileLayout:
    """The dataset's columns in the order its files are written."""

    time_column: str
    time_kind: str  # "seconds" or "datetime"
    amount_column: str
    features: list[str]
    label_column: str
    id_column: str | None = None
    categorical: list[str] = field(default_factory=list)
    card_column: str | None = None
    merchant_column: str | None = None
    omitted: list[str] = field(default_factory=list)


@dataclass
class SourceTable:
    table: pd.DataFrame  # time, amount, features and categories, named as in the files
    classes: np.ndarray  # each row's best known class (LabelClass.position)
    class_codes: list[str]  # as the files write each class, by position
    class_names: list[str]
    positive: int
    layout: FileLayout
    class_sources: dict[str, int]  # rows whose class came from people, pseudo-labels, neither
    entity_sizes: dict[str, np.ndarray]  # transactions per card / per merchant


def file_layout(dataset: Dataset) -> FileLayout:
    batch = (
        ImportBatch.objects.filter(dataset=dataset, source=ImportBatch.Source.FILE)
        .exclude(column_mapping__features=None)
        .order_by("created_at", "id")
        .first()
    )
    if batch is None or "features" not in batch.column_mapping:
        raise SynthesisRejected(
            f"dataset {dataset.name!r} has no imported file to take its layout from"
        )
    mapping = batch.column_mapping
    return FileLayout(
        time_column=mapping["time"],
        time_kind=(dataset.schema or {}).get("time", "seconds"),
        amount_column=mapping["amount"],
        features=list(mapping["features"]),
        label_column=mapping.get("label") or "label",
        id_column=mapping.get("id"),
        categorical=list(mapping.get("categorical") or []),
        card_column=mapping.get("card"),
        merchant_column=mapping.get("merchant"),
        omitted=list(mapping.get("text") or []) + list(mapping.get("kept") or []),
    )


def _best_classes(dataset: Dataset, ids: np.ndarray, background: int, code_of: dict[int, int]):
    settled, _disputed, _last = human_classes_settled(dataset)
    classes = np.full(len(ids), background, np.int64)
    source = np.zeros(len(ids), np.int8)  # 0 neither, 1 pseudo-label, 2 people
    active = ModelVersion.objects.filter(dataset=dataset, status=ModelVersion.Status.ACTIVE).first()
    if active is not None:
        pseudo = PseudoLabel.objects.filter(model_version=active).values_list(
            "transaction_id", "label_class_id"
        )
        for transaction_id, class_id in pseudo.iterator(10_000):
            position = np.searchsorted(ids, transaction_id)
            classes[position], source[position] = code_of[class_id], 1
    if settled:
        wanted = np.fromiter(settled.keys(), np.int64)
        positions = np.searchsorted(ids, wanted)
        classes[positions] = [code_of[settled[t]] for t in wanted.tolist()]
        source[positions] = 2
    counts = {
        "people": int(np.sum(source == 2)),
        "pseudo_labels": int(np.sum(source == 1)),
        "background": int(np.sum(source == 0)),
    }
    return classes, counts


def synthesis_table_load(dataset: Dataset) -> SourceTable:
    import pandas as pd  # only here: the pages that request a copy stay light (STYLE.md 13)

    layout = file_layout(dataset)
    label_classes = list(LabelClass.objects.order_by("position"))
    positives = [c.position for c in label_classes if c.is_positive]
    if len(label_classes) < 2 or len(positives) != 1:
        raise SynthesisRejected("the label classes need exactly one positive (fraud) class")
    background = min(c.position for c in label_classes if not c.is_positive)
    code_of = {c.pk: c.position for c in label_classes}

    rows = Transaction.objects.filter(dataset=dataset).order_by("id")
    read = list(
        rows.values_list(
            "id", "time", "amount", "features", "card_key", "merchant_key", "attributes"
        ).iterator(10_000)
    )
    if len(read) < 100:
        raise SynthesisRejected(
            f"dataset {dataset.name!r} holds {len(read)} transactions: a generator needs at "
            "least 100 to learn from"
        )
    ids = np.fromiter((row[0] for row in read), np.int64, len(read))
    width = len(dataset.feature_names)
    features = np.frombuffer(b"".join(bytes(row[3]) for row in read), "<f4").reshape(-1, width)
    columns: dict[str, np.ndarray] = {
        layout.time_column: np.fromiter((row[1] for row in read), np.float64, len(read)),
        layout.amount_column: np.fromiter((row[2] for row in read), np.float64, len(read)),
    }
    for position, name in enumerate(layout.features):
        columns[name] = features[:, position].astype(np.float64)
    for name in layout.categorical:
        values = pd.Series([str((row[6] or {}).get(name) or EMPTY) for row in read])
        common = values.value_counts().index[: MAX_WRITTEN_CATEGORIES - 1]
        columns[name] = values.where(values.isin(common), "other").to_numpy(object)
    classes, sources = _best_classes(dataset, ids, background, code_of)
    entity_sizes = {}
    for part, index in (("card", 4), ("merchant", 5)):
        keys = pd.Series([row[index] for row in read]).dropna()
        if len(keys):
            entity_sizes[part] = keys.value_counts().to_numpy()
    return SourceTable(
        table=pd.DataFrame(columns),
        classes=classes,
        class_codes=[c.code for c in label_classes],
        class_names=[c.name for c in label_classes],
        positive=positives[0],
        layout=layout,
        class_sources=sources,
        entity_sizes=entity_sizes,
    )


def _made_up_keys(prefix: str, sizes: np.ndarray, rows: int, rng) -> np.ndarray:
    """Keys for `rows` rows: as many entities, in proportion, as the real data has, each taking
    rows in proportion to a real entity's count."""
    entities = max(1, round(len(sizes) * rows / max(int(sizes.sum()), 1)))
    weights = rng.choice(sizes, entities).astype(np.float64)
    picks = rng.choice(entities, rows, p=weights / weights.sum())
    return np.asarray([f"{prefix}{pick:07d}" for pick in picks], dtype=object)


def synthesis_table_write(
    source: SourceTable,
    table: pd.DataFrame,
    classes: np.ndarray,
    *,
    path: Path,
    output_format: str,
    prefix: str,
    seed: int,
) -> None:
    """The rows in time order, in the dataset's column order, classes as the files code them."""
    import pandas as pd

    layout, rng = source.layout, np.random.default_rng(seed)
    order = np.argsort(table[layout.time_column].to_numpy(), kind="stable")
    table, classes = table.iloc[order].reset_index(drop=True), np.asarray(classes)[order]
    out: dict[str, object] = {}
    if layout.id_column:
        out[layout.id_column] = [f"{prefix}-{index + 1:07d}" for index in range(len(table))]
    seconds = table[layout.time_column]
    out[layout.time_column] = (
        pd.to_datetime(seconds, unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        if layout.time_kind == "datetime"
        else seconds
    )
    for name in layout.features:
        out[name] = table[name]
    out[layout.amount_column] = table[layout.amount_column]
    for name in layout.categorical:
        out[name] = table[name].replace(EMPTY, "")
    for part, column in (("card", layout.card_column), ("merchant", layout.merchant_column)):
        if column and part in source.entity_sizes:
            out[column] = _made_up_keys(
                f"{prefix}-{part}-", source.entity_sizes[part], len(table), rng
            )
    out[layout.label_column] = np.asarray(source.class_codes, dtype=object)[classes]
    frame = pd.DataFrame(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if output_format == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
