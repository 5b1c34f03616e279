"""Celery tasks: thin wrappers that take ids, call one service and return its outcome."""

import socket

from celery import shared_task

from labeler.services.health import worker_heartbeat_record


@shared_task(bind=True, name="labeler.tasks.worker_heartbeat", ignore_result=True)
def worker_heartbeat(self) -> None:
    worker_heartbeat_record(hostname=self.request.hostname or socket.gethostname())


@shared_task(name="labeler.tasks.ping")
def ping(value: str) -> dict:
    """Round trip check: proves a worker took a message and the result came back."""
    return {"echo": value, "hostname": socket.gethostname()}


@shared_task(bind=True, name="labeler.tasks.training_run")
def training_run(self, version_id: int) -> str:
    """Runs one queued model version; a second delivery of the same message does nothing."""
    from labeler.services.training import training_run_execute

    return training_run_execute(
        version_id=version_id, worker=self.request.hostname or socket.gethostname()
    )


@shared_task(name="labeler.tasks.training_on_schedule", ignore_result=True)
def training_on_schedule() -> list[int]:
    """Beat's trigger: fails silent runs, then queues a run for each dataset that is due."""
    from labeler.models import Dataset, ModelVersion
    from labeler.services.training_runs import training_request_if_due, training_stale_runs_fail

    training_stale_runs_fail()
    queued = []
    for dataset in Dataset.objects.all():
        request = training_request_if_due(dataset=dataset, trigger=ModelVersion.Trigger.SCHEDULE)
        if request is not None:
            queued.append(request.version.pk)
    return queued


@shared_task(name="labeler.tasks.arrivals_score")
def arrivals_score(batch_id: int) -> dict:
    """Scores a batch that arrived over the API with the active version; queues its likely
    frauds. A second delivery scores nothing again."""
    from dataclasses import asdict

    from labeler.services.arrivals import arrivals_score as score

    return asdict(score(batch_id=batch_id))


@shared_task(bind=True, name="labeler.tasks.synthesis_run")
def synthesis_run(self, run_id: int) -> str:
    """Makes one requested synthetic copy; a second delivery of the same message does nothing."""
    from labeler.services.synthesis import synthesis_run_execute

    return synthesis_run_execute(
        run_id=run_id, worker=self.request.hostname or socket.gethostname()
    )


@shared_task(
    bind=True,
    name="labeler.tasks.scoring_shard",
    ignore_result=True,
    max_retries=2,
    default_retry_delay=5,
)
def scoring_shard(self, folder: str, first_id: int, last_id: int) -> None:
    """Scores one shard of a training run's rows (its folder holds the run's scoring plan); a
    shard that fails is tried again, then recorded as failed for the waiting run."""
    from pathlib import Path

    from labeler.services.training.scoring_shards import (
        scoring_threads_limit,
        shard_failure_record,
        shard_score,  # through scoring_shards, the one place tests replace it
    )
    from labeler.services.training.shard_scoring import ScoringShardsFailed

    if not (Path(folder) / "plan.json").exists():
        return  # the run is over (activated or failed): nothing to score for it
    scoring_threads_limit()
    try:
        shard_score(Path(folder), first_id, last_id)
    except ScoringShardsFailed:
        return  # the run failed meanwhile
    except Exception as error:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=error) from error
        shard_failure_record(Path(folder), first_id, last_id, f"{type(error).__name__}: {error}")
        raise
