"""Training: the only bridge between labeler/ and modeling/ (QuerySets -> arrays -> models ->
rows). `run` orchestrates a run; the other modules hold its parts."""

from labeler.services.training.options import TrainingOptions
from labeler.services.training.run import training_run, training_run_execute

__all__ = ["TrainingOptions", "training_run", "training_run_execute"]
