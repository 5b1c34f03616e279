"""Synthetic copies of a dataset as runs: request (checked), claim, progress, the file and its
report, failure. A run reuses the generator of an earlier run on the same rows and classes with
the same settings instead of training again. A run whose report fails the privacy check writes
no rows: the report alone says why."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from labeler.models import Dataset, Label, ModelVersion, Review, SynthesisRun, Transaction
from labeler.services.processes import runs_stale, this_host, this_process
from labeler.services.synthesis_table import (
    SourceTable,
    SynthesisRejected,
    file_layout,
    synthesis_table_load,
    synthesis_table_write,
)

logger = logging.getLogger(__name__)

SYNTHESIS_TASK = "labeler.tasks.synthesis_run"
SYNTHESIS_QUEUE = "training"
MAX_ROWS = 5_000_000
MAX_SEED = 2**31 - 1  # the column is a 32-bit integer on PostgreSQL
# Progress comes at least once a training epoch; an hour of silence is a dead worker.
STALE_AFTER = timedelta(hours=1)

__all__ = ["SynthesisRejected", "synthesis_request", "synthesis_run_execute"]


def synthesis_request_check(
    *,
    rows: int,
    fraud_share: float,
    generator: str,
    output_format: str,
    epochs: int,
    seed: int = 0,
) -> None:
    if not 1 <= rows <= MAX_ROWS:
        raise SynthesisRejected(f"rows must lie between 1 and {MAX_ROWS:,} (got {rows})")
    if not 0.0 <= fraud_share <= 1.0:
        raise SynthesisRejected(f"the fraud share must lie between 0 and 1 (got {fraud_share})")
    if generator not in SynthesisRun.Generator.values:
        raise SynthesisRejected(
            f"unknown generator {generator!r}: one of {', '.join(SynthesisRun.Generator.values)}"
        )
    if output_format not in SynthesisRun.Format.values:
        raise SynthesisRejected(f"unknown format {output_format!r}: csv or parquet")
    if not 1 <= epochs <= 1000:
        raise SynthesisRejected(f"epochs must lie between 1 and 1000 (got {epochs})")
    if not 0 <= seed <= MAX_SEED:
        raise SynthesisRejected(f"the seed must lie between 0 and {MAX_SEED} (got {seed})")


def synthesis_request(
    *,
    dataset: Dataset,
    rows: int,
    fraud_share: float,
    generator: str = SynthesisRun.Generator.AUTO,
    output_format: str = SynthesisRun.Format.CSV,
    epochs: int = 30,
    seed: int = 0,
    requested_by=None,
    enqueue: bool = True,
) -> SynthesisRun:
    """A queued run (handed to a worker once committed, unless `enqueue` is False)."""
    synthesis_request_check(
        rows=rows,
        fraud_share=fraud_share,
        generator=generator,
        output_format=output_format,
        epochs=epochs,
        seed=seed,
    )
    file_layout(dataset)  # a dataset with no imported file is refused now, not on the worker
    synthesis_stale_runs_fail()
    with transaction.atomic():
        run = SynthesisRun.objects.create(
            dataset=dataset,
            rows=rows,
            fraud_share=fraud_share,
            generator=generator,
            output_format=output_format,
            epochs=epochs,
            seed=seed,
            requested_by=requested_by,
        )
        if enqueue:
            transaction.on_commit(
                lambda: current_app.send_task(SYNTHESIS_TASK, args=[run.pk], queue=SYNTHESIS_QUEUE)
            )
    return run


def _signature(dataset: Dataset, run: SynthesisRun) -> str:
    """What the generator learns from and how: the rows, every source of their classes (labels,
    undone ones included; reviews; the active version's pseudo-labels), the settings."""
    rows = Transaction.objects.filter(dataset=dataset).aggregate(
        newest=Max("id"), count=Count("id")
    )
    labels = Label.objects.filter(transaction__dataset=dataset).aggregate(
        newest=Max("id"), active=Count("id", filter=Q(status=Label.Status.ACTIVE))
    )
    reviews = Review.objects.filter(transaction__dataset=dataset).aggregate(
        newest=Max("id"), active=Count("id", filter=Q(status=Review.Status.ACTIVE))
    )
    active = (
        ModelVersion.objects.filter(dataset=dataset, status=ModelVersion.Status.ACTIVE)
        .values_list("id", flat=True)
        .first()
    )
    text = json.dumps(
        [dataset.pk, rows, labels, reviews, active, run.generator, run.epochs, run.seed],
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _folder(run: SynthesisRun) -> Path:
    return Path(settings.MEDIA_ROOT) / "synthesis" / f"dataset-{run.dataset_id}"


def synthesis_file_path(run: SynthesisRun) -> Path:
    return _folder(run) / f"{run.dataset.name}-synthetic-{run.pk}.{run.output_format}"


def synthesis_report_path(run: SynthesisRun) -> Path:
    return _folder(run) / f"{run.dataset.name}-synthetic-{run.pk}.report.json"


def synthesis_download_path(run: SynthesisRun, part: str) -> Path | None:
    """The run's file (`part` "file") or report ("report"), None while there is none."""
    if part not in {"file", "report"}:
        raise SynthesisRejected(f"part must be 'file' or 'report' (got {part!r})")
    path = synthesis_report_path(run) if part == "report" else Path(run.output_path or "")
    return path if path.is_file() else None


def _progress_writer(run_id: int) -> Callable[[str, float], None]:
    last = {"percent": -1, "stage": ""}

    def write(stage: str, fraction: float) -> None:
        percent = max(0, min(100, int(fraction * 100)))
        if percent != last["percent"] or stage != last["stage"]:
            last.update(percent=percent, stage=stage)
            SynthesisRun.objects.filter(pk=run_id).update(
                progress=percent, stage=stage, heartbeat_at=timezone.now()
            )

    return write


def synthesis_stale_runs_fail() -> list[int]:
    """Fails runs whose worker stopped reporting (killed, or its machine went down): at once
    when their process on this machine is gone, else after `STALE_AFTER` without progress."""
    stale = runs_stale(
        SynthesisRun.objects.filter(status=SynthesisRun.Status.RUNNING),
        silent_since=timezone.now() - STALE_AFTER,
        silence=f"{int(STALE_AFTER.total_seconds() // 60)} minutes",
    )
    for pk, (_, reason) in stale.items():
        SynthesisRun.objects.filter(pk=pk, status=SynthesisRun.Status.RUNNING).update(
            status=SynthesisRun.Status.FAILED,
            error=f"{reason}; no file was written",
            finished_at=timezone.now(),
        )
    return list(stale)


def synthesis_run_execute(*, run_id: int, worker: str, listeners=()) -> str:
    """Runs one queued request; a second delivery of the same message does nothing."""
    now = timezone.now()
    claimed = SynthesisRun.objects.filter(pk=run_id, status=SynthesisRun.Status.QUEUED).update(
        status=SynthesisRun.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker=worker[:200],
        run_host=this_host(),
        run_process=this_process(),
    )
    if not claimed:
        return "not started"
    run = SynthesisRun.objects.select_related("dataset").get(pk=run_id)
    write_progress = _progress_writer(run_id)

    def progress(stage: str, fraction: float) -> None:
        write_progress(stage, fraction)
        for listener in listeners:
            listener(stage, int(fraction * 100))

    try:
        progress("reading the dataset", 0.0)
        source = synthesis_table_load(run.dataset)
        outcome = _generate(run, source, progress)
    except Exception as error:
        message = str(error) if _user_caused(error) else f"{type(error).__name__}: {error}"
        SynthesisRun.objects.filter(pk=run_id).update(
            status=SynthesisRun.Status.FAILED, error=message[:2000], finished_at=timezone.now()
        )
        if not _user_caused(error):
            logger.exception("synthesis run %s failed", run_id)
        return "failed"
    SynthesisRun.objects.filter(pk=run_id).update(
        status=SynthesisRun.Status.DONE,
        progress=100,
        stage="done",
        finished_at=timezone.now(),
        **outcome,
    )
    return "done"


def _user_caused(error: Exception) -> bool:
    from modeling.synthesis.synthesizer import SynthesisError
    from modeling.synthesis.table import TableError

    return isinstance(error, SynthesisRejected | SynthesisError | TableError)


def _generate(run: SynthesisRun, source: SourceTable, progress) -> dict:
    import torch  # only here: the web and the commands that do not synthesize stay light

    from modeling.synthesis.pipeline import SynthesisRequest, synthesis_run
    from modeling.synthesis.synthesizer import GENERATORS, Synthesizer, generator_config

    signature = _signature(run.dataset, run)
    earlier = (
        SynthesisRun.objects.filter(
            dataset=run.dataset,
            status=SynthesisRun.Status.DONE,
            training_signature=signature,
        )
        .exclude(generator_path="")
        .order_by("-id")
        .first()
    )
    synthesizer = None
    if earlier is not None and Path(earlier.generator_path).exists():
        synthesizer = Synthesizer.from_state(torch.load(earlier.generator_path, weights_only=False))
    candidates = (
        list(GENERATORS) if run.generator == SynthesisRun.Generator.AUTO else [run.generator]
    )
    layout = source.layout
    request = SynthesisRequest(
        rows=run.rows,
        positive_share=run.fraud_share,
        positive_class=source.positive,
        candidates=candidates,
        configs={
            kind: generator_config(kind, epochs=run.epochs, seed=run.seed) for kind in candidates
        },
        time_column=layout.time_column,
        utility_exclude=[layout.time_column],
        seed=run.seed,
    )
    result = synthesis_run(
        source.table,
        source.classes,
        class_names=source.class_names,
        categorical=layout.categorical,
        request=request,
        synthesizer=synthesizer,
        on_progress=lambda fraction: progress(
            "training the generators" if fraction < 0.98 else "measuring", fraction * 0.95
        ),
    )
    folder = _folder(run)
    folder.mkdir(parents=True, exist_ok=True)
    report = result.report.as_dict()
    report["source"] = {
        "dataset": run.dataset.name,
        "rows": len(source.table),
        "classes_from": source.class_sources,
        "left_out": layout.omitted,
        "entities": (
            "card and merchant ids are made up, with the real spread of transactions per id; "
            "their histories are not modelled"
            if source.entity_sizes
            else ""
        ),
    }
    outcome = {
        "training_signature": signature,
        "chosen_generator": result.synthesizer.kind,
        "reused_from": earlier if synthesizer is not None else None,
        "report": report,
    }
    if synthesizer is None:
        generator_path = folder / f"run-{run.pk}-generator.pt"
        torch.save(result.synthesizer.to_state(), generator_path)
        outcome["generator_path"] = str(generator_path)
    else:
        outcome["generator_path"] = earlier.generator_path
    synthesis_report_path(run).write_text(json.dumps(report, indent=2))
    progress("writing the file", 0.97)
    path = synthesis_file_path(run)
    synthesis_table_write(
        source,
        result.table,
        result.classes,
        path=path,
        output_format=run.output_format,
        prefix=f"syn{run.pk}",
        seed=run.seed,
    )
    outcome["output_path"] = str(path)
    return outcome
