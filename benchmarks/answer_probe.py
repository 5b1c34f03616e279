"""An annotator answering while a training run works: each answer's seconds, by the run's stage.

    python benchmarks/answer_probe.py STOP_FILE OUT_FILE     # started by scale.py --probe

Runs with the environment of the benchmark's training process (same database). While a run is in
one of ANSWER_STAGES (from scoring's end to the switch, and the batched copy of scores after it:
where the run writes what annotators read), it answers the next queue item with its reference
class every PACE seconds, through the services the annotate page calls (`queue_next_item`,
`label_submit`): each answer is timed from asking for the item to the label written, which is
what an annotator waits for. The stage is read before and after each answer; an answer counts in
every stage it overlapped. When STOP_FILE appears it writes [{"stages": [...], "seconds": s},
...] to OUT_FILE.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

ANSWER_STAGES = ("audit", "score_write", "queueing", "pseudo_labels", "activating", "copying")
PACE = 0.2  # seconds between answers: 5 a second at most


def running_stage() -> str:
    """The stage of the newest version training or active (the probe's own labels queue the
    next run, which waits): its stage while it trains; "copying" once it is active and its
    scores are still being copied in batches (the rest of the "activating" duration)."""
    from labeler.models import ModelVersion, StagedScore

    Status = ModelVersion.Status
    newest = (
        ModelVersion.objects.filter(status__in=[Status.TRAINING, Status.ACTIVE])
        .order_by("-pk")
        .values_list("pk", "status", "stage")
        .first()
    )
    if newest is None:
        return ""
    pk, status, stage = newest
    if status == Status.TRAINING:
        return stage
    return "copying" if StagedScore.objects.filter(model_version=pk).exists() else ""


def answers(stop: Path) -> list[dict]:
    from django.contrib.auth import get_user_model

    from labeler.models import LabelClass, ReferenceLabel
    from labeler.services.labeling import label_submit, queue_next_item

    user, _ = get_user_model().objects.get_or_create(username="probe-annotator")
    classes = {label_class.pk: label_class for label_class in LabelClass.objects.all()}
    records = []
    while not stop.exists():
        before = running_stage()
        if before not in ANSWER_STAGES:
            time.sleep(PACE)
            continue
        started = time.perf_counter()
        entry = queue_next_item(user=user)
        seconds = time.perf_counter() - started
        if entry is not None:
            truth = ReferenceLabel.objects.get(transaction_id=entry.transaction_id)
            started = time.perf_counter()
            label_submit(
                user=user,
                transaction_id=entry.transaction_id,
                label_class=classes[truth.label_class_id],
                request_token=uuid.uuid4().hex,
            )
            seconds += time.perf_counter() - started
        stages = sorted({before, running_stage()} - {""})
        records.append({"stages": stages, "seconds": seconds, "answered": entry is not None})
        time.sleep(PACE)
    return records


def main() -> None:
    stop, out = Path(sys.argv[1]), Path(sys.argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")
    import django

    django.setup()
    out.write_text(json.dumps(answers(stop)))


if __name__ == "__main__":
    main()
