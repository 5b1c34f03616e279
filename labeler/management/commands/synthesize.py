"""python manage.py synthesize: a synthetic copy of a dataset, in its own import layout, with a
fidelity / utility / privacy report beside it."""

import os
import socket
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from labeler.models import Dataset, SynthesisRun
from labeler.services.synthesis import (
    SynthesisRejected,
    synthesis_report_path,
    synthesis_request,
)


class Command(BaseCommand):
    help = (
        "Train (or reuse) a conditional generator on a dataset's rows and their best known "
        "classes, write N synthetic rows with the fraud share asked for, and report fidelity, "
        "utility and privacy. By default it runs in this process; --queue hands it to a worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, help="dataset name")
        parser.add_argument("--rows", type=int, required=True)
        parser.add_argument("--fraud-share", type=float, required=True, help="0 to 1")
        parser.add_argument("--out", help="copy the file here too (.csv or .parquet)")
        parser.add_argument("--generator", choices=SynthesisRun.Generator.values, default="auto")
        parser.add_argument(
            "--epochs",
            type=int,
            default=30,
            help="for the networks (cvae, cgan); the kernel has none",
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--queue", action="store_true", help="run on a worker and follow")

    def handle(self, *args, **options):
        try:
            dataset = Dataset.objects.get(name=options["dataset"])
        except Dataset.DoesNotExist:
            names = ", ".join(Dataset.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"no dataset {options['dataset']!r}; datasets: {names}") from None
        out = options["out"]
        output_format = "parquet" if out and out.endswith(".parquet") else "csv"
        try:
            run = synthesis_request(
                dataset=dataset,
                rows=options["rows"],
                fraud_share=options["fraud_share"],
                generator=options["generator"],
                output_format=output_format,
                epochs=options["epochs"],
                seed=options["seed"],
                enqueue=options["queue"],
            )
        except SynthesisRejected as error:
            raise CommandError(str(error)) from None
        run = self._follow(run) if options["queue"] else self._run_here(run)
        self._report(run, out)

    def _run_here(self, run: SynthesisRun) -> SynthesisRun:
        from labeler.services.synthesis import synthesis_run_execute  # torch: only to train

        worker = f"synthesize@{socket.gethostname()}:{os.getpid()}"
        with tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {n}%") as bar:

            def show(stage: str, percent: int) -> None:
                bar.set_description(stage)
                bar.update(max(0, percent - bar.n))

            synthesis_run_execute(run_id=run.pk, worker=worker, listeners=(show,))
        return SynthesisRun.objects.get(pk=run.pk)

    def _follow(self, run: SynthesisRun) -> SynthesisRun:
        finished = {SynthesisRun.Status.DONE, SynthesisRun.Status.FAILED}
        with tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {n}%") as bar:
            while run.status not in finished:
                bar.set_description(run.stage or run.status)
                bar.update(max(0, run.progress - bar.n))
                time.sleep(1)
                run.refresh_from_db()
        return run

    def _report(self, run: SynthesisRun, out: str | None) -> None:
        report = run.report or {}
        if report:
            fidelity, privacy = report["fidelity"], report["privacy"]
            lines = [
                f"generator: {report['generator']} ({'; '.join(report.get('notes', []))})",
                f"fidelity: real-vs-synthetic ROC AUC {fidelity['real_vs_synthetic_auc']:.3f} "
                f"(at most 0.75: {'pass' if fidelity['passed'] else 'FAIL'})",
                f"privacy: {privacy['share_closer']:.2%} of rows closer to a real row than the "
                f"real rows' 5th percentile, {privacy['copies']} copies "
                f"(at most 1%: {'pass' if privacy['passed'] else 'FAIL'})",
            ]
            utility = report.get("utility")
            if utility:
                lines.append(
                    f"utility: AP trained on synthetic {utility['train_synthetic_ap']:.3f} vs on "
                    f"real {utility['train_real_ap']:.3f} on the later {utility['test_rows']:,} "
                    f"rows (ratio {utility['ratio']:.2f}; at least 0.8: "
                    f"{'pass' if utility['passed'] else 'FAIL'})"
                )
            self.stdout.write("\n".join(lines))
        if report:
            self.stdout.write(f"report: {synthesis_report_path(run)}")
        if run.status == SynthesisRun.Status.FAILED:
            raise CommandError(f"synthesis run {run.pk} failed: {run.error}")
        path = run.output_path
        if out:
            import shutil

            shutil.copyfile(path, out)
            path = out
        self.stdout.write(self.style.SUCCESS(f"wrote {run.rows:,} rows to {path}"))
        if report and not report["privacy"]["passed"]:
            self.stdout.write(
                self.style.WARNING(
                    "the privacy check failed: too many rows sit closer to a real row than real "
                    "rows sit to each other; do not share this file as an anonymous copy"
                )
            )
