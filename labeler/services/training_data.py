"""The training set of one dataset, read from the database as arrays.

Human labels are trusted; a reviewer's overrule replaces the annotator's class; annotators who
disagree on an item with no review leave it out until a reviewer settles it; the active
version's pseudo-labels come along for training at their lower weight. Rows of the audit frame
never train: their settled classes are the audit's answers, read apart. Reference labels live in
their own table and are never read here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Max, OuterRef, Q, Subquery

from labeler.errors import FraudloopError
from labeler.models import (
    Dataset,
    Label,
    LabelClass,
    ModelVersion,
    PseudoLabel,
    Review,
    ReviewItem,
)
from labeler.services.training_rows import feature_rows_read
from modeling.entity_features import SECONDS_PER_DAY

INPUT_CHUNK_ROWS = 250_000  # ids per range the inputs are read in


class TrainingDataError(FraudloopError):
    """The database holds nothing a model can be trained on, or classes a model cannot use."""


@dataclass
class TrainingArrays:
    """Every row's id, marks and labels; the inputs (features, amount, time, derived) of the
    `read` rows only: the rows models learn from (`learning`), or every row when none is."""

    transaction_ids: np.ndarray  # (n,) in id order; every other per-row array follows it
    previous_scores: np.ndarray | None  # (n,) the active version's scores; None before one
    labeled: np.ndarray  # (m,) row positions with a trusted human class, outside the frame
    label_codes: np.ndarray  # (m,) model class indices (LabelClass.position)
    excluded: np.ndarray  # row positions humans labeled but did not agree on: not candidates
    audit_number: np.ndarray  # (n,) each frame row's permanent number; NaN outside the frame
    audit_inclusion: np.ndarray  # (n,) inclusion probability so far; 0 outside or not yet drawn
    audit_rows: np.ndarray  # frame row positions with a settled human class: the audit answers
    audit_codes: np.ndarray  # their class codes
    pseudo_rows: np.ndarray  # active version's pseudo-labels: row positions, codes, probabilities
    pseudo_codes: np.ndarray
    pseudo_weight: float
    class_ids: dict[int, int]  # model class index (LabelClass.position) -> LabelClass id
    class_names: list[str]
    positive_code: int
    last_label_id: int
    counts: dict = field(default_factory=dict)
    # Row positions waiting for a reviewer (an open review item): one human queue at a time, so
    # the queue's swap would drop them; a plan that picked them would serve fewer of its own.
    in_review: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    window_start: float | None = None  # rows_in_window's start: what the run read
    learning: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # positions
    read: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # positions
    features: np.ndarray | None = None  # (r, f) float32 as imported, for the `read` rows
    derived: np.ndarray | None = None  # (r, d) per-card and per-merchant; None: no entities
    derived_names: list[str] = field(default_factory=list)
    derived_config: dict | None = None  # how they were computed, kept with the model
    amount: np.ndarray | None = None  # (r,)
    time: np.ndarray | None = None  # (r,)

    def read_positions(self, rows: np.ndarray) -> np.ndarray:
        """Positions among the `read` rows of these row positions (each must be read)."""
        rows = np.asarray(rows, np.int64)
        at = np.searchsorted(self.read, rows)
        if np.any(at >= len(self.read)) or np.any(
            self.read[np.minimum(at, len(self.read) - 1)] != rows
        ):
            raise ValueError("rows whose inputs were not read")
        return at

    @property
    def human_labeled(self) -> np.ndarray:
        mask = np.zeros(len(self.transaction_ids), bool)
        mask[self.labeled] = True
        mask[self.excluded] = True
        mask[self.audit_rows] = True
        return mask

    @property
    def queue_candidates(self) -> np.ndarray:
        """Positions the committee may queue: unlabeled, outside the audit frame, and not
        waiting for a reviewer."""
        mask = ~self.human_labeled & ~self.frame
        mask[self.in_review] = False
        return np.flatnonzero(mask)

    @property
    def frame(self) -> np.ndarray:
        """The audit frame's rows (bool per row)."""
        return ~np.isnan(self.audit_number)

    @property
    def learning_rows(self) -> np.ndarray:
        """Positions of the rows models learn from: every row outside the frame."""
        return np.flatnonzero(~self.frame)


def learning_sample(arrays: TrainingArrays, *, unlabeled: int, seed: int) -> np.ndarray:
    """The learning rows a run fits on, in position order: every one with a human class or a
    pseudo-label, and of the others at most `unlabeled`, drawn at random with `seed` (0: all
    of them)."""
    learning = arrays.learning_rows
    if not unlabeled:
        return learning
    labeled = np.zeros(len(arrays.transaction_ids), bool)
    labeled[arrays.labeled] = True
    labeled[arrays.pseudo_rows] = True
    others = learning[~labeled[learning]]
    if len(others) <= unlabeled:
        return learning
    drawn = np.random.default_rng(seed).choice(others, size=unlabeled, replace=False)
    return np.sort(np.concatenate([learning[labeled[learning]], drawn]))


def label_classes_for_training() -> tuple[list[LabelClass], int]:
    classes = list(LabelClass.objects.order_by("position"))
    positions = [label_class.position for label_class in classes]
    if positions != list(range(len(classes))) or len(classes) < 2:
        raise TrainingDataError(
            f"label classes must have positions 0..K-1 with K >= 2 (found {positions}); "
            "fix them in the admin under Label classes"
        )
    positives = [label_class.position for label_class in classes if label_class.is_positive]
    if len(positives) != 1:
        raise TrainingDataError(
            f"exactly one label class must be marked positive (fraud); found {len(positives)}"
        )
    return classes, positives[0]


def window_start(dataset: Dataset, window_days: int) -> float | None:
    """The earliest time a run with `window_days` learns from (None: every row): that many days
    before the dataset's newest transaction."""
    if not window_days:
        return None
    newest = dataset.transactions.aggregate(newest=Max("time"))["newest"]
    return None if newest is None else newest - window_days * SECONDS_PER_DAY


def rows_in_window(dataset: Dataset, start: float | None):
    """The dataset's transactions a run learns from: all of them (`start` None), or those from
    `start` on, plus every older one people labeled outside the audit frame (labels are never
    dropped; the audit judges the window's population)."""
    rows = dataset.transactions.all()
    if start is None:
        return rows
    labeled = Label.objects.filter(transaction=OuterRef("pk"), status=Label.Status.ACTIVE)
    return rows.filter(
        Q(time__gte=start)
        | Q(audit_number__isnull=True, pk__in=Subquery(labeled.values("transaction")))
    )


def human_classes_settled(dataset: Dataset) -> tuple[dict[int, int], set[int], int]:
    """transaction id -> class id for every settled item, the ids annotators disagree on, and
    the newest label id when reading began."""
    # Read first: a label written while this runs counts towards the next run, not this one.
    last_label_id = Label.objects.aggregate(newest=Max("id"))["newest"] or 0
    votes: dict[int, set[int]] = defaultdict(set)
    for transaction_id, class_id in Label.objects.filter(
        transaction__dataset=dataset, status=Label.Status.ACTIVE, id__lte=last_label_id
    ).values_list("transaction_id", "label_class_id"):
        votes[transaction_id].add(class_id)
    # The latest standing verdict per transaction: its class, whichever opinion it judged.
    reviewed: dict[int, int] = {}
    for transaction_id, verdict, new_class, label_class, pseudo_class in (
        Review.objects.filter(transaction__dataset=dataset, status=Review.Status.ACTIVE)
        .exclude(verdict=Review.Verdict.SEND_BACK)
        .order_by("created_at", "id")
        .values_list(
            "transaction_id",
            "verdict",
            "new_class_id",
            "label__label_class_id",
            "pseudo_label__label_class_id",
        )
    ):
        overruled = verdict == Review.Verdict.OVERRULE
        reviewed[transaction_id] = new_class if overruled else (label_class or pseudo_class)
    settled: dict[int, int] = {}
    disputed: set[int] = set()
    for transaction_id, classes in votes.items():
        if len(classes) == 1:
            settled[transaction_id] = next(iter(classes))
        else:
            disputed.add(transaction_id)
    # A reviewer's word outranks the annotators', whether they agreed or not.
    for transaction_id, class_id in reviewed.items():
        settled[transaction_id] = class_id
        disputed.discard(transaction_id)
    return settled, disputed, last_label_id


def training_arrays_build(
    *,
    dataset: Dataset,
    window_days: int = 0,
    unlabeled_sample: int = 0,
    seed: int = 0,
    chunk_rows: int = INPUT_CHUNK_ROWS,
) -> TrainingArrays:
    """What a run learns from: every transaction, or with `window_days` only the last days'
    and every one people labeled (TrainingPolicy.window_days). Every row's marks are read;
    the inputs only of the learning rows (`learning_sample`: the labeled ones and at most
    `unlabeled_sample` others, 0: all), `chunk_rows` ids at a time."""
    classes, positive_code = label_classes_for_training()
    code_of = {label_class.pk: label_class.position for label_class in classes}
    start = window_start(dataset, window_days)
    rows = feature_rows_read(rows_in_window(dataset, start), 0, features=False)
    if not len(rows.ids):
        raise TrainingDataError(f"dataset {dataset.name!r} has no transactions to train on")
    ids, scores = rows.ids, rows.scores
    audit_number, audit_inclusion = rows.audit_number, rows.audit_inclusion
    del rows  # times, amounts and keys are read again for the learning rows alone
    settled, disputed, last_label_id = human_classes_settled(dataset)
    if window_days:  # audit answers outside the window leave with their frame rows
        read = set(ids.tolist())
        settled = {t: c for t, c in settled.items() if t in read}
        disputed = {t for t in disputed if t in read}
    else:
        read = None

    def positions(transaction_ids) -> np.ndarray:
        wanted = np.fromiter(transaction_ids, np.int64)
        found = np.searchsorted(ids, wanted)
        return found.astype(np.int64)

    in_frame = set(ids[~np.isnan(audit_number)].tolist())
    labeled_ids = sorted(t for t in settled if t not in in_frame)
    labeled = positions(labeled_ids)
    label_codes = np.asarray([code_of[settled[t]] for t in labeled_ids], np.int64)
    audit_ids = sorted(t for t in settled if t in in_frame)
    audit_codes = np.asarray([code_of[settled[t]] for t in audit_ids], np.int64)
    active = ModelVersion.objects.filter(dataset=dataset, status=ModelVersion.Status.ACTIVE).first()
    pseudo = (
        list(
            PseudoLabel.objects.filter(model_version=active, transaction__audit_number__isnull=True)
            .exclude(transaction_id__in=settled.keys() | disputed)
            .order_by("transaction_id")
            .values_list("transaction_id", "label_class_id", "weight")
        )
        if active
        else []
    )
    if read is not None:
        pseudo = [row for row in pseudo if row[0] in read]
    pseudo_ids = [row[0] for row in pseudo]
    in_review = sorted(
        t
        for t in set(
            ReviewItem.objects.filter(transaction__dataset=dataset, resolved_at__isnull=True)
            .values_list("transaction_id", flat=True)
            .iterator(10000)
        )
        if read is None or t in read
    )
    arrays = TrainingArrays(
        transaction_ids=ids,
        previous_scores=None if np.isnan(scores).all() else np.nan_to_num(scores, nan=0.0),
        labeled=labeled,
        label_codes=label_codes,
        excluded=positions(sorted(disputed)),
        audit_number=audit_number,
        audit_inclusion=audit_inclusion,
        audit_rows=positions(audit_ids),
        audit_codes=audit_codes,
        pseudo_rows=positions(pseudo_ids),
        pseudo_codes=np.asarray([code_of[row[1]] for row in pseudo], np.int64),
        pseudo_weight=float(pseudo[0][2]) if pseudo else 0.0,
        class_ids={label_class.position: label_class.pk for label_class in classes},
        class_names=[label_class.name for label_class in classes],
        positive_code=positive_code,
        last_label_id=last_label_id,
        in_review=positions(in_review),
        window_start=start,
        counts={
            "transactions": len(ids),
            # Every settled item, training and audit alike: the labels people spent.
            "human_labels": len(labeled_ids) + len(audit_ids),
            "training_labels": len(labeled_ids),
            "positives": int(np.sum(label_codes == positive_code)),
            "audit_frame": int(np.sum(~np.isnan(audit_number))),
            "audit_labels": len(audit_ids),
            "audit_positives": int(np.sum(audit_codes == positive_code)),
            "disputed": len(disputed),
            "pseudo_labels_in": len(pseudo),
            "in_review": len(in_review),
            "window_days": window_days,
        },
    )
    arrays.learning = learning_sample(arrays, unlabeled=unlabeled_sample, seed=seed)
    arrays.read = arrays.learning if len(arrays.learning) else np.arange(len(ids))
    arrays.counts["read"] = len(arrays.read)
    _inputs_read(arrays, dataset, rows_in_window(dataset, start), chunk_rows)
    return arrays


def _inputs_read(arrays: TrainingArrays, dataset: Dataset, base, chunk_rows: int) -> None:
    """The `read` rows' features, amounts, times and derived features, a range of ids at a
    time: what is held at once is one range's rows, and the read rows' inputs."""
    from dataclasses import asdict

    from labeler.services.training.derived import derived_config, derived_for_rows
    from labeler.services.training.scoring_shards import scoring_ranges

    ids = arrays.transaction_ids
    base = base.filter(id__lte=int(ids[-1]))
    config = derived_config(dataset)
    state = None if config is None else asdict(config)
    wanted = ids[arrays.read]
    features, amounts, times, derived, names = [], [], [], [], []
    for first_id, last_id in scoring_ranges(ids, chunk_rows):
        part = feature_rows_read(
            base.filter(id__gte=first_id, id__lte=last_id), len(dataset.feature_names)
        )
        keep = np.isin(part.ids, wanted)
        features.append(part.features[keep])
        amounts.append(part.amounts[keep])
        times.append(part.times[keep])
        if state is not None and keep.any():
            values, names = derived_for_rows(dataset, base, part, state)
            derived.append(values[keep])
    arrays.features = np.concatenate(features)
    arrays.amount, arrays.time = np.concatenate(amounts), np.concatenate(times)
    if len(arrays.features) != len(wanted):
        raise TrainingDataError("transactions were deleted while the training set was read")
    if state is not None:
        arrays.derived = np.concatenate(derived)
        arrays.derived_names = names
        arrays.derived_config = state


def model_input_names(feature_names: list[str], arrays: TrainingArrays) -> list[str]:
    """A name a person reads for each column of `model_input`."""
    return [*feature_names, "amount", "hour of day", "hour of day", *arrays.derived_names]


def model_input(arrays: TrainingArrays, rows: np.ndarray | None = None) -> np.ndarray:
    """The raw model input (features, log amount, time of day, then the derived ones) of these
    row positions, or of every `read` row (None)."""
    from modeling.features import feature_matrix

    at = slice(None) if rows is None else arrays.read_positions(rows)
    matrix = feature_matrix(arrays.features[at], arrays.amount[at], arrays.time[at])
    if arrays.derived is None:
        return matrix
    return np.hstack([matrix, arrays.derived[at]]).astype(np.float32)
