"""python manage.py import_transactions FILE: the import service from the command line."""

from django.core.management.base import BaseCommand, CommandError

from labeler.errors import ImportRejected
from labeler.forms import column_choice
from labeler.models import ImportBatch
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
        parser.add_argument(
            "--card-column",
            help="the card (or customer, account) each row belongs to; default: card_id, "
            "customer_id, account_id… if present; '-': none",
        )
        parser.add_argument(
            "--merchant-column",
            help="the merchant (or terminal); default: merchant_id, terminal_id… if present; "
            "'-': none",
        )
        parser.add_argument(
            "--categorical-columns",
            help="comma-separated, encoded for the models and shown as text; default: mcc, "
            "country, currency, entry_mode… and text columns with few distinct values",
        )
        parser.add_argument(
            "--text-columns",
            help="comma-separated, shown to people only; default: description… and text "
            "columns with many distinct values",
        )

    def handle(self, *args, **options):
        columns = column_choice(options)
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
