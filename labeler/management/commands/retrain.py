"""python manage.py retrain: train a new model version now, with a progress bar."""

import os
import socket
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from labeler.models import Dataset, ModelVersion
from labeler.quality_view import quality_view
from labeler.services.training_runs import training_request


class Command(BaseCommand):
    help = (
        "Train, score, queue and activate a new model version for a dataset. By default the "
        "run happens in this process; --queue hands it to the Celery workers and follows it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dataset", help="dataset name (default: the only one)")
        parser.add_argument(
            "--queue", action="store_true", help="run on a worker (queue 'training') and follow"
        )
        parser.add_argument("--no-wait", action="store_true", help="with --queue: do not follow")

    def handle(self, *args, **options):
        dataset = self._dataset(options["dataset"])
        request = training_request(
            dataset=dataset, trigger=ModelVersion.Trigger.COMMAND, enqueue=options["queue"]
        )
        version = request.version
        if not request.created:
            self.stdout.write(f"A run is already queued for {dataset.name!r}: v{version.pk}.")
        if options["queue"]:
            if options["no_wait"]:
                self.stdout.write(f"Queued v{version.pk}.")
                return
            version = self._follow(version)
        else:
            version = self._run_here(version)
        self._report(version)

    def _dataset(self, name: str | None) -> Dataset:
        if name:
            try:
                return Dataset.objects.get(name=name)
            except Dataset.DoesNotExist:
                names = ", ".join(Dataset.objects.values_list("name", flat=True)) or "none"
                raise CommandError(f"no dataset {name!r}; datasets: {names}") from None
        datasets = list(Dataset.objects.all()[:2])
        if len(datasets) != 1:
            raise CommandError(
                "no datasets: import transactions first"
                if not datasets
                else "several datasets: name one with --dataset"
            )
        return datasets[0]

    def _run_here(self, version: ModelVersion) -> ModelVersion:
        from labeler.services.training import training_run_execute  # torch: only to train

        worker = f"retrain@{socket.gethostname()}:{os.getpid()}"
        with tqdm(total=100, unit="%", desc="queued", bar_format="{l_bar}{bar}| {n}%") as bar:

            def show(stage: str, percent: int) -> None:
                bar.set_description(stage)
                bar.update(percent - bar.n)

            outcome = training_run_execute(version_id=version.pk, worker=worker, listeners=(show,))
        if outcome == "not started":
            self.stdout.write("Another run is training now; this one starts when it ends.")
            return self._follow(version)
        return ModelVersion.objects.get(pk=version.pk)

    def _follow(self, version: ModelVersion) -> ModelVersion:
        finished = {
            ModelVersion.Status.ACTIVE,
            ModelVersion.Status.READY,
            ModelVersion.Status.FAILED,
        }
        with tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {n}%") as bar:
            while version.status not in finished:
                bar.set_description(version.stage or version.status)
                bar.update(version.progress - bar.n)
                time.sleep(1)
                version.refresh_from_db()
            bar.update(100 - bar.n if version.status != ModelVersion.Status.FAILED else 0)
        return version

    def _report(self, version: ModelVersion) -> None:
        if version.status == ModelVersion.Status.FAILED:
            raise CommandError(f"v{version.pk} failed: {version.error}")
        counts, metrics = version.training_counts, version.metrics
        cross = (metrics.get("cross_validation") or {}).get("average_precision")
        view = quality_view(version)
        quality = f"; audit AP {view.short}" if view else ""
        if cross is not None:
            quality += f" (on its own picks, optimistic: {cross:.3f})"
        self.stdout.write(
            self.style.SUCCESS(
                f"v{version.pk} ({version.get_kind_display()}) is {version.status}: "
                f"{counts.get('human_labels', 0)} human labels "
                f"({counts.get('positives', 0)} positive), "
                f"{counts.get('pseudo_labels_out', 0)} pseudo-labels, "
                f"{counts.get('queue_planned', 0)} queued{quality}; "
                f"{version.durations.get('total', 0):.1f} s on {version.device}."
            )
        )
