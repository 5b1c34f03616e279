"""label_efficiency.py --product: the loop driven through the product's own services.

One subprocess per seed (Django binds its database at start-up), each with a fresh SQLite
database: the pool (first 80% by time) is written as a CSV with an id column and imported with
`--labels reference`; the cold-start run trains; then a simulated annotator answers exactly as
the page does (`queue_next_item`, then `label_submit` with the reference class), with the queue
size, audit share and retrain rule as shipped (`TrainingPolicy` defaults): the label that makes
a run due queues it, and the run trains at once, as a worker would, before the next answer.
Every activated version is scored on the held-back test split from its own model file, beside
its audit estimate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from efficiency_strategies import Curve, RawData

PROJECT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()


def pool_csv(pool: RawData, path: Path, seed: int) -> None:
    """The reference layout plus an id column: the ids (and so the file's checksum, which seeds
    the audit frame) differ by seed."""
    import pandas as pd

    frame = pd.DataFrame(
        pool.features, columns=[f"V{i + 1}" for i in range(pool.features.shape[1])]
    )
    frame.insert(0, "Time", pool.seconds)
    frame.insert(0, "id", [f"s{seed}-{row}" for row in range(len(pool.labels))])
    frame["Amount"] = pool.amount
    frame["Class"] = pool.labels
    frame.to_csv(path, index=False, float_format="%.9g")


def product_curves(
    pool: RawData, test: RawData, *, seeds: list[int], budget: int, threads: int
) -> list[Curve]:
    curves = []
    for seed in seeds:
        folder = Path(tempfile.mkdtemp(prefix=f"fraudloop-product-{seed}-"))
        pool_csv(pool, folder / "pool.csv", seed)
        np.savez(
            folder / "test.npz",
            features=test.features,
            amount=test.amount,
            seconds=test.seconds,
            labels=test.labels,
        )
        environment = dict(
            os.environ,
            DATABASE_URL=f"sqlite:///{folder / 'product.sqlite3'}",
            MEDIA_ROOT=str(folder / "media"),
            TRAINING_SEED=str(seed),
            OMP_NUM_THREADS=str(threads),
            DJANGO_SETTINGS_MODULE="labeler.settings",
            DEBUG="true",
        )
        started = time.perf_counter()
        output = subprocess.run(
            [sys.executable, str(SCRIPT), str(folder), str(budget), str(threads)],
            capture_output=True,
            text=True,
            check=False,
            env=environment,
            cwd=PROJECT,
        )
        if output.returncode != 0:
            raise SystemExit(f"product mode, seed {seed}: failed\n{output.stderr[-4000:]}")
        result = json.loads(output.stdout.strip().splitlines()[-1])
        curve = Curve(
            labels=result["labels"],
            ap=result["ap"],
            frauds_found=result["frauds_found"],
            seconds=time.perf_counter() - started,
            sgan_share=result["sgan_share"],
            anomaly_share=result["anomaly_share"],
            estimates=result["estimates"],
            audit_labels=result["audit_labels"],
            reasons=result["reasons"],
        )
        curves.append(curve)
        print(
            f"product mode, seed {seed}: {len(curve.labels)} versions, "
            f"{curve.seconds / 60:.1f} min; answers by reason {result['reasons']}",
            flush=True,
        )
    return curves


def _child(folder: Path, budget: int, threads: int) -> dict:
    import django
    import torch

    torch.set_num_threads(threads)
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from sklearn.metrics import average_precision_score

    from labeler.models import LabelClass, ModelVersion, ReferenceLabel
    from labeler.services import training_runs
    from labeler.services.importing import transactions_import
    from labeler.services.labeling import label_submit, queue_next_item
    from labeler.services.training import training_run_execute
    from modeling.features import feature_matrix
    from modeling.model_files import bundle_load

    call_command("migrate", verbosity=0)
    dataset = transactions_import(
        path=folder / "pool.csv", dataset_name="product", label_mode="reference"
    ).dataset
    test = np.load(folder / "test.npz")
    queued: list[int] = []
    training_runs._enqueue = queued.append  # the worker: runs train right here, in turn
    annotator = get_user_model().objects.create_user("product-annotator")
    truth = dict(
        ReferenceLabel.objects.filter(transaction__dataset=dataset).values_list(
            "transaction_id", "label_class_id"
        )
    )
    classes = {label_class.pk: label_class for label_class in LabelClass.objects.all()}
    keys = ("labels", "ap", "estimates", "frauds_found", "audit_labels", "sgan_share")
    result: dict = {key: [] for key in (*keys, "anomaly_share")}
    reasons: dict[str, int] = {}

    def train(version_id: int) -> None:
        outcome = training_run_execute(version_id=version_id, worker="product-bench")
        version = ModelVersion.objects.get(pk=version_id)
        if outcome != "activated":
            raise SystemExit(f"v{version_id} {outcome}: {version.error}")
        counts = version.training_counts
        if not counts.get("human_labels"):
            return  # the cold start: no point on the curve (it starts at chance)
        bundle = bundle_load(version.artifact_path)
        x = bundle.scaler.transform(
            feature_matrix(test["features"], test["amount"], test["seconds"])
        )
        scores = (
            bundle.committee.predict_proba(x)[:, 1]
            if bundle.committee is not None
            else bundle.anomaly.anomaly_score(x)
        )
        committee = version.metrics.get("committee") or {}
        result["labels"].append(counts["human_labels"])
        result["ap"].append(float(average_precision_score(test["labels"], scores)))
        result["estimates"].append((version.metrics.get("quality") or {}).get("average_precision"))
        result["frauds_found"].append(counts["positives"] + counts["audit_positives"])
        result["audit_labels"].append(counts["audit_labels"])
        result["sgan_share"].append(committee.get("sgan_share") or float("nan"))
        result["anomaly_share"].append(committee.get("anomaly_share") or float("nan"))

    cold = training_runs.training_request(dataset=dataset, trigger="command", enqueue=False)
    train(cold.version.pk)
    for number in range(budget):
        entry = queue_next_item(user=annotator)
        if entry is None:
            raise SystemExit(f"the queue ran dry after {number} answers")
        reasons[entry.reason] = reasons.get(entry.reason, 0) + 1
        label_submit(
            user=annotator,
            transaction_id=entry.transaction_id,
            label_class=classes[truth[entry.transaction_id]],
            request_token=f"answer-{number}",
        )
        while queued:
            train(queued.pop(0))
    result["reasons"] = reasons
    return result


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT))
    folder, budget, threads = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(_child(folder, budget, threads)))
