"""Which Celery pool may run the training queue: on a GPU, one that never forks.

A prefork worker forks its pool processes from a parent that imports the task modules, and
forks new ones whenever a process exits (a crash, `--max-tasks-per-child`). CUDA started in a
parent cannot be used in its forked children ("Cannot re-initialize CUDA in forked
subprocess"), and a child that held a CUDA context when it died leaves its device memory to
the driver. So a worker that takes training tasks on a GPU runs them in a pool that does not
fork: `solo` (the worker's own process, one run at a time; the model stays on the device) or
`threads`. A CPU worker may prefork as before. Nothing here imports torch or starts CUDA: the
GPU is found from the driver's files.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

TRAINING_QUEUE = "training"
SAFE_POOLS = ("solo", "threads")
NVIDIA_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl")


def gpu_present(files: Iterable[str] = NVIDIA_DRIVER_FILES) -> bool:
    """Whether an NVIDIA driver is loaded here (what TRAINING_DEVICE=auto would train on),
    without importing torch or starting CUDA."""
    return any(Path(name).exists() for name in files)


def pool_name(pool) -> str:
    """The pool's alias ("prefork", "solo", "threads", ...) from the alias itself, a class or
    its "module:Class" path (the worker is handed any of these)."""
    from celery.concurrency import ALIASES

    if isinstance(pool, str) and pool in ALIASES:
        return pool
    path = pool if isinstance(pool, str) else f"{pool.__module__}:{pool.__qualname__}"
    return next((alias for alias, target in ALIASES.items() if target == path), path)


def training_pool_refusal(
    *, queues: Iterable[str], pool: str, device: str, gpu: bool
) -> str | None:
    """Why this worker must not start (None when it may): it takes the training queue, trains on
    CUDA (`device` "cuda", or "auto" with a GPU present) and its pool forks."""
    on_cuda = device.startswith("cuda") or (device == "auto" and gpu)
    if TRAINING_QUEUE not in set(queues) or pool in SAFE_POOLS or not on_cuda:
        return None
    return (
        f"this worker takes the '{TRAINING_QUEUE}' queue and would train on CUDA "
        f"(TRAINING_DEVICE={device}) in a '{pool}' pool, which forks: CUDA cannot be used in "
        f"forked processes. Start training workers with --pool=solo (or --pool=threads), e.g. "
        f"celery -A labeler worker --queues={TRAINING_QUEUE} --pool=solo; light tasks stay on "
        "a worker of their own (--queues=celery), or set TRAINING_DEVICE=cpu."
    )
