"""Training: the only bridge between labeler/ and modeling/ (QuerySets -> arrays -> models ->
rows). `run` orchestrates a run; the other modules hold its parts.

Nothing is imported here up front: the parts import torch and the model code, which a command
or a request that does not train must not pay for (STYLE.md rule 13)."""

from importlib import import_module

_EXPORTS = {
    "TrainingOptions": "labeler.services.training.options",
    "training_run": "labeler.services.training.run",
    "training_run_execute": "labeler.services.training.run",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
