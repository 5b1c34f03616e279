"""python manage.py export_labels: labels, reviews and pseudo-labels to CSV, JSONL or Parquet."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeler.errors import FraudloopError
from labeler.services.exporting import (
    COLUMNS,
    FORMATS,
    export_csv,
    export_jsonl,
    export_parquet,
    export_request_check,
)


class Command(BaseCommand):
    help = (
        "Write a dataset's labels (human labels, reviewer verdicts and pseudo-labels in separate "
        "columns, one row per transaction) as CSV, JSON Lines or Parquet, streamed in chunks."
    )

    def add_arguments(self, parser):
        parser.add_argument("output", help="file to write ('-' for standard output; not Parquet)")
        parser.add_argument("--format", choices=list(FORMATS), help="default: from the extension")
        parser.add_argument("--dataset", help="dataset name (default: the first)")
        parser.add_argument(
            "--labeled-only",
            action="store_true",
            help="only transactions with a label, a pseudo-label or a review",
        )
        parser.add_argument(
            "--columns", action="store_true", help="describe the columns, then stop"
        )

    def handle(self, *args, **options):
        if options["columns"]:
            for name, kind, meaning in COLUMNS:
                self.stdout.write(f"{name:<26} {kind:<8} {meaning}")
            return
        output = options["output"]
        format = options["format"] or Path(output).suffix.lstrip(".") or "csv"
        try:
            export = export_request_check(
                dataset_name=options["dataset"],
                format=format,
                labeled_only=options["labeled_only"],
            )
        except FraudloopError as refused:
            raise CommandError(str(refused)) from refused
        if format == "parquet":
            if output == "-":
                raise CommandError("Parquet needs a file: its footer is written last")
            with open(output, "wb") as handle:
                rows = export_parquet(export, handle)
            self.stderr.write(f"{rows} rows written to {output}")
            return
        chunks = export_csv(export) if format == "csv" else export_jsonl(export)
        if output == "-":
            for chunk in chunks:
                self.stdout.write(chunk.decode(), ending="")
            return
        with open(output, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        self.stderr.write(f"{export.dataset.name} exported to {output}")
