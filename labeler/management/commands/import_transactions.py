"""python manage.py import_transactions FILE: the import service from the command line."""

from django.core.management.base import BaseCommand, CommandError

from labeler.errors import ImportRejected
from labeler.models import ImportBatch
from labeler.services.import_options import ColumnChoice
from labeler.services.importing import transactions_import


class Command(BaseCommand):
    help = "Import a transaction CSV (plain or .gz) into a dataset: all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dataset", default="default", help="dataset name (default: default)")
        parser.add_argument(
            "--labels",
            choices=ImportBatch.LabelMode.values,
            default=ImportBatch.LabelMode.IGNORE,
            help="what the label column is: ignore (default), trusted labels, or held-back "
            "reference labels that only evaluation and the simulated annotator read",
        )
        parser.add_argument("--id-column")
        parser.add_argument("--time-column")
        parser.add_argument("--amount-column")
        parser.add_argument("--label-column")
        parser.add_argument(
            "--feature-columns", help="comma-separated; default: every other numeric column"
        )

    def handle(self, *args, **options):
        features = options["feature_columns"]
        columns = ColumnChoice(
            id_column=options["id_column"],
            time_column=options["time_column"],
            amount_column=options["amount_column"],
            label_column=options["label_column"],
            feature_columns=tuple(name.strip() for name in features.split(","))
            if features
            else None,
        )
        try:
            batch = transactions_import(
                path=options["file"],
                dataset_name=options["dataset"],
                label_mode=options["labels"],
                columns=columns,
            )
        except ImportRejected as rejected:
            raise CommandError(f"{rejected} Nothing was imported.") from rejected
        labels = f", {batch.label_count} {batch.label_mode} labels" if batch.label_count else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {batch.row_count} transactions into dataset {batch.dataset.name!r}"
                f"{labels} in {batch.duration_seconds:.1f} s (batch #{batch.id})."
            )
        )
