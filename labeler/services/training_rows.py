"""A dataset's transactions read for training in chunks of ids, straight into arrays.

A row list of Python tuples costs several times the arrays it becomes (a tuple, a float object
per number, a bytes object per feature vector, a string per entity key); read whole, at a few
million rows it outgrew a worker's memory. Here only one chunk is ever held as tuples, the
arrays are allocated once for the rows counted at the start, and each entity key is kept once,
as it is given its code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db.models import Max

from labeler.services.training.derived import ENTITY_FIELDS, EntityCoder, codes_finish

READ_CHUNK_ROWS = 50_000


@dataclass
class FeatureRows:
    ids: np.ndarray  # (n,) int64, ascending
    times: np.ndarray  # (n,) float64
    amounts: np.ndarray
    scores: np.ndarray  # the latest stored score; NaN where none
    audit_number: np.ndarray  # NaN outside the audit frame
    audit_inclusion: np.ndarray  # 0 where none
    features: np.ndarray  # (n, f) float32, as imported
    entities: dict[str, np.ndarray]  # part -> (n,) int64 codes (see EntityCoder)


FIELDS = ("id", "time", "amount", "score", "audit_number", "audit_inclusion", "features")


def feature_rows_read(
    queryset, width: int, *, chunk: int = READ_CHUNK_ROWS, features: bool = True
) -> FeatureRows:
    """The rows of `queryset` with an id up to the largest at the start (rows arriving while it
    reads wait for the next run), in id order, `chunk` rows per query. `features` False: the
    feature vectors are not read (`features` then has no columns)."""
    width = width if features else 0
    fields = FIELDS if features else FIELDS[:-1]
    last = queryset.aggregate(last=Max("id"))["last"]
    bounded = queryset.filter(id__lte=last or 0).order_by("id")
    count = bounded.count()
    rows = FeatureRows(
        ids=np.zeros(count, np.int64),
        times=np.zeros(count),
        amounts=np.zeros(count),
        scores=np.zeros(count),
        audit_number=np.zeros(count),
        audit_inclusion=np.zeros(count),
        features=np.zeros((count, width), np.float32),
        entities={part: np.zeros(count, np.int64) for part in ENTITY_FIELDS},
    )
    coders = {part: EntityCoder() for part in ENTITY_FIELDS}
    filled, after = 0, 0
    while True:
        batch = list(
            bounded.filter(id__gt=after).values_list(*fields, *ENTITY_FIELDS.values())[:chunk]
        )
        if not batch:
            break
        if filled + len(batch) > len(rows.ids):  # rows committed since the count: room for them
            rows = _grown(rows, filled + len(batch))
        _fill(rows, slice(filled, filled + len(batch)), batch, len(fields), coders)
        filled += len(batch)
        after = batch[-1][0]
    return _trimmed(rows, filled)


def _fill(rows: FeatureRows, where: slice, batch: list[tuple], keys_at: int, coders) -> None:
    """`keys_at`: where the key columns start (after the feature vectors, when they are read)."""
    columns = list(zip(*batch, strict=True))
    rows.ids[where] = columns[0]
    rows.times[where] = columns[1]
    rows.amounts[where] = columns[2]
    rows.scores[where] = np.asarray(columns[3], np.float64)  # None reads as NaN
    rows.audit_number[where] = np.asarray(columns[4], np.float64)
    rows.audit_inclusion[where] = np.nan_to_num(np.asarray(columns[5], np.float64), nan=0.0)
    if keys_at == len(FIELDS):
        width = rows.features.shape[1]
        rows.features[where] = np.frombuffer(b"".join(columns[6]), "<f4").reshape(-1, width)
    for index, part in enumerate(ENTITY_FIELDS):
        rows.entities[part][where] = coders[part].encode(list(columns[keys_at + index]))


def _resized(rows: FeatureRows, resize) -> FeatureRows:
    return FeatureRows(
        **{
            name: resize(getattr(rows, name))
            for name in ("ids", "times", "amounts", "scores", "audit_number", "audit_inclusion")
        },
        features=resize(rows.features),
        entities={part: resize(codes) for part, codes in rows.entities.items()},
    )


def _grown(rows: FeatureRows, size: int) -> FeatureRows:
    def grow(array: np.ndarray) -> np.ndarray:
        bigger = np.zeros((size, *array.shape[1:]), array.dtype)
        bigger[: len(array)] = array
        return bigger

    return _resized(rows, grow)


def _trimmed(rows: FeatureRows, size: int) -> FeatureRows:
    trimmed = _resized(rows, lambda array: array[:size])
    trimmed.entities = {part: codes_finish(codes) for part, codes in trimmed.entities.items()}
    return trimmed
