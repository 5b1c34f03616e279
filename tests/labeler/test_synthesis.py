"""Synthetic copies through the service: a request is checked before it is queued, a run writes
a file in the dataset's own layout with a report beside it, the file imports back as a new
dataset, a second run on the same rows reuses the generator, and what cannot be made fails with a
message a person can act on."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from labeler.models import ImportBatch, Label, LabelClass, SynthesisRun, Transaction
from labeler.services.demo import raw_demo_import, synthetic_frame
from labeler.services.importing import transactions_import
from labeler.services.processes import this_host, this_process
from labeler.services.synthesis import (
    STALE_AFTER,
    SynthesisRejected,
    synthesis_report_path,
    synthesis_request,
    synthesis_run_execute,
    synthesis_stale_runs_fail,
)
from modeling.synthetic import transactions_synthesize
from tests.factories import LabelFactory, label_class

pytestmark = pytest.mark.django_db

QUICK = {"epochs": 3, "generator": "cvae"}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def trusted_dataset(tmp_path, name="cards", rows=2500, seed=2):
    """The reference layout with every label trusted (as a chargeback file would be)."""
    data = transactions_synthesize(rows=rows, features=8, fraud_rate=0.05, seed=seed)
    codes = (LabelClass.objects.get(name="legit").code, LabelClass.objects.get(name="fraud").code)
    path = tmp_path / f"{name}.csv"
    synthetic_frame(data, class_codes=codes).to_csv(path, index=False, float_format="%.6g")
    return transactions_import(
        path=path, dataset_name=name, label_mode=ImportBatch.LabelMode.TRUSTED
    ).dataset


def first_label(dataset) -> int:
    return Label.objects.filter(transaction__dataset=dataset).order_by("id").first().pk


def run_here(**request) -> SynthesisRun:
    run = synthesis_request(enqueue=False, **{**QUICK, **request})
    assert synthesis_run_execute(run_id=run.pk, worker="test") in {"done", "failed"}
    run.refresh_from_db()
    return run


def test_a_copy_in_the_datasets_layout_imports_back(tmp_path):
    dataset = trusted_dataset(tmp_path)
    run = run_here(dataset=dataset, rows=1000, fraud_share=0.2)
    assert run.status == SynthesisRun.Status.DONE, run.error
    assert run.progress == 100 and run.chosen_generator == "cvae"
    written = pd.read_csv(run.output_path, dtype={"Class": str})
    original = pd.read_csv(tmp_path / "cards.csv", nrows=1)
    assert list(written.columns) == list(original.columns)  # Time, V1..V8, Amount, Class
    assert len(written) == 1000
    fraud_code = LabelClass.objects.get(name="fraud").code
    assert (written["Class"] == fraud_code).sum() == 200
    assert written["Time"].is_monotonic_increasing
    report = json.loads(synthesis_report_path(run).read_text())
    assert report == run.report
    assert report["source"]["classes_from"] == {"people": 2500, "pseudo_labels": 0, "background": 0}
    assert {"fidelity", "privacy", "utility", "thresholds"} <= set(report)
    assert report["privacy"]["copies"] == 0

    batch = transactions_import(
        path=run.output_path, dataset_name="cards-synthetic", label_mode="reference"
    )
    assert batch.row_count == 1000
    assert batch.dataset.feature_names == dataset.feature_names


def test_a_second_run_on_the_same_rows_reuses_the_generator(tmp_path):
    dataset = trusted_dataset(tmp_path)
    first = run_here(dataset=dataset, rows=300, fraud_share=0.1)
    second = run_here(dataset=dataset, rows=500, fraud_share=0.3)
    assert second.status == SynthesisRun.Status.DONE, second.error
    assert second.reused_from_id == first.pk
    assert second.generator_path == first.generator_path
    assert "reused" in second.report["notes"][0]
    # an undone label changes what it would learn from: trained afresh
    Label.objects.filter(transaction__dataset=dataset, pk=first_label(dataset)).update(
        status=Label.Status.SUPERSEDED
    )
    third = run_here(dataset=dataset, rows=300, fraud_share=0.1)
    assert third.reused_from_id is None and third.generator_path != first.generator_path


def test_auto_weighs_every_generator_and_keeps_one_whose_rows_pass_privacy(tmp_path):
    dataset = trusted_dataset(tmp_path, rows=2000)
    run = run_here(dataset=dataset, rows=600, fraud_share=0.1, generator="auto", epochs=2)
    assert run.status == SynthesisRun.Status.DONE, run.error
    notes = "\n".join(run.report["notes"])
    for kind in ("kernel", "cvae", "cgan"):
        assert f"{kind}: real-vs-synthetic ROC AUC" in notes
    # two epochs leave the networks far from the data; the kernel follows it from the start
    assert run.chosen_generator == "kernel"
    assert "chosen: kernel (the lowest AUC of those that pass the privacy test)" in notes
    assert run.report["privacy"]["passed"] and run.report["privacy"]["copies"] == 0


def test_a_run_runs_once(tmp_path):
    dataset = trusted_dataset(tmp_path, rows=600)
    run = run_here(dataset=dataset, rows=100, fraud_share=0.1)
    assert synthesis_run_execute(run_id=run.pk, worker="again") == "not started"


def test_no_known_fraud_fails_with_what_to_do(tmp_path):
    dataset = raw_demo_import(customers=30, terminals=40, days=20, seed=1).dataset
    run = run_here(dataset=dataset, rows=100, fraud_share=0.1)
    assert run.status == SynthesisRun.Status.FAILED
    assert "no 'fraud' row is known" in run.error and "labeled" in run.error
    assert not run.output_path


@pytest.mark.parametrize("generator", ["cvae", "kernel"])
def test_raw_layout_gets_made_up_ids_real_categories_and_dates(tmp_path, bob, generator):
    dataset = raw_demo_import(customers=40, terminals=60, days=30, seed=3).dataset
    rows = Transaction.objects.filter(dataset=dataset).order_by("id")
    # Layout, not realism: the largest amounts are called fraud, 200 others legit.
    frauds = list(rows.order_by("-amount")[:30])
    legit = list(rows.order_by("amount")[:200])
    for transaction in frauds + legit:
        LabelFactory(
            transaction=transaction,
            annotator=bob,
            label_class=label_class("fraud" if transaction in frauds else "legit"),
        )
    run = run_here(dataset=dataset, rows=800, fraud_share=0.05, epochs=2, generator=generator)
    layout = ImportBatch.objects.get(dataset=dataset).column_mapping
    if run.status == SynthesisRun.Status.FAILED:
        pytest.fail(run.error)
    written = pd.read_csv(run.output_path, dtype=str)
    assert written[layout["card"]].str.startswith(f"syn{run.pk}-card-").all()
    assert written[layout["merchant"]].str.startswith(f"syn{run.pk}-merchant-").all()
    assert pd.to_datetime(written[layout["time"]], utc=True).notna().all()
    for column in layout["categorical"]:
        real = set(
            Transaction.objects.filter(dataset=dataset).values_list(
                f"attributes__{column}", flat=True
            )
        )
        assert set(written[column].dropna()) <= {str(value) for value in real} | {"other"}
    assert set(run.report["source"]["left_out"]) == set(layout["text"] + layout["kept"])
    assert "made up" in run.report["source"]["entities"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rows": 0}, "rows must lie between 1"),
        ({"fraud_share": 1.5}, "fraud share must lie between 0 and 1"),
        ({"generator": "vqgan"}, "unknown generator 'vqgan'"),
        ({"output_format": "xlsx"}, "unknown format 'xlsx'"),
        ({"epochs": 0}, "epochs must lie between 1 and 1000"),
        ({"seed": 2**31}, "the seed must lie between 0 and"),
    ],
)
def test_bad_requests_are_refused_before_anything_is_queued(tmp_path, changes, message):
    dataset = trusted_dataset(tmp_path, rows=200)
    with pytest.raises(SynthesisRejected, match=message):
        synthesis_request(
            dataset=dataset, enqueue=False, **{"rows": 10, "fraud_share": 0.1, **changes}
        )
    assert not SynthesisRun.objects.exists()


def test_the_command_writes_the_copy_where_asked(tmp_path, capsys):
    trusted_dataset(tmp_path, rows=1500)
    out = tmp_path / "copy.parquet"
    call_command(
        "synthesize",
        "--dataset",
        "cards",
        "--rows",
        "400",
        "--fraud-share",
        "0.25",
        "--epochs",
        "2",
        "--generator",
        "cvae",
        "--out",
        str(out),
    )
    printed = capsys.readouterr().out
    assert "real-vs-synthetic ROC AUC" in printed and f"wrote 400 rows to {out}" in printed
    assert len(pd.read_parquet(out)) == 400
    with pytest.raises(CommandError, match="no dataset 'nope'; datasets: cards"):
        call_command("synthesize", "--dataset", "nope", "--rows", "1", "--fraud-share", "0")


def test_staff_see_runs_in_the_admin_and_cannot_change_them(tmp_path, client, alice, bob):
    dataset = trusted_dataset(tmp_path, rows=800)
    run = run_here(dataset=dataset, rows=100, fraud_share=0.1, epochs=1)
    client.force_login(alice)
    listing = client.get("/admin/labeler/synthesisrun/")
    assert listing.status_code == 200
    assert f">{run.pk}<" in listing.content.decode() and "cards" in listing.content.decode()
    assert client.get("/admin/labeler/synthesisrun/add/").status_code == 403
    client.force_login(bob)  # an annotator, not staff
    assert client.get("/admin/labeler/synthesisrun/").status_code == 302  # to the admin login


def dead_process() -> str:
    """The identity of a process that has ended, as `this_process()` would have written it."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{child.pid}:1:{this_process().rsplit(':', 1)[1]}"


def test_a_run_whose_worker_died_or_went_silent_is_failed(tmp_path):
    dataset = trusted_dataset(tmp_path, rows=300)
    killed, silent, alive = (
        synthesis_request(dataset=dataset, rows=10, fraud_share=0.1, enqueue=False)
        for _ in range(3)
    )
    now = timezone.now()
    running = {"status": SynthesisRun.Status.RUNNING, "run_host": this_host(), "heartbeat_at": now}
    SynthesisRun.objects.filter(pk=killed.pk).update(**running, run_process=dead_process())
    SynthesisRun.objects.filter(pk=silent.pk).update(
        **{
            **running,
            "heartbeat_at": now - STALE_AFTER - timedelta(minutes=1),
            "run_host": "gpu-1",  # another machine: only its silence tells
            "run_process": "1:1:0",
        }
    )
    SynthesisRun.objects.filter(pk=alive.pk).update(**running, run_process=this_process())
    assert sorted(synthesis_stale_runs_fail()) == sorted([killed.pk, silent.pk])
    for run, words in ((killed, "is gone"), (silent, "stopped reporting")):
        run.refresh_from_db()
        assert run.status == SynthesisRun.Status.FAILED and words in run.error
    alive.refresh_from_db()
    assert alive.status == SynthesisRun.Status.RUNNING
