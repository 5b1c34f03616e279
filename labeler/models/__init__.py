"""fraudloop's data: the tables, their constraints, nothing else."""

from labeler.models.classes import LabelClass
from labeler.models.health import WorkerHeartbeat
from labeler.models.labels import Label, PseudoLabel, ReferenceLabel, Review
from labeler.models.training import ModelVersion, QueueEntry
from labeler.models.transactions import Dataset, ImportBatch, Transaction

__all__ = [
    "Dataset",
    "ImportBatch",
    "Label",
    "LabelClass",
    "ModelVersion",
    "PseudoLabel",
    "QueueEntry",
    "ReferenceLabel",
    "Review",
    "Transaction",
    "WorkerHeartbeat",
]
