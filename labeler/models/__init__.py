"""fraudloop's data: the tables, their constraints, nothing else."""

from labeler.models.api import IdempotencyKey
from labeler.models.classes import LabelClass
from labeler.models.health import WorkerHeartbeat
from labeler.models.labels import Label, PseudoLabel, ReferenceLabel
from labeler.models.queue import QueueEntry
from labeler.models.review import Review, ReviewItem, ReviewPolicy
from labeler.models.staging import PlannedQueueEntry, StagedScore
from labeler.models.synthesis import SynthesisRun
from labeler.models.training import ModelVersion, TrainingPolicy
from labeler.models.transactions import Dataset, ImportBatch, Transaction

__all__ = [
    "Dataset",
    "IdempotencyKey",
    "ImportBatch",
    "Label",
    "LabelClass",
    "ModelVersion",
    "PlannedQueueEntry",
    "PseudoLabel",
    "QueueEntry",
    "ReferenceLabel",
    "Review",
    "ReviewItem",
    "ReviewPolicy",
    "StagedScore",
    "SynthesisRun",
    "TrainingPolicy",
    "Transaction",
    "WorkerHeartbeat",
]
