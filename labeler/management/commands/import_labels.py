"""python manage.py import_labels FILE --dataset D: delayed labels (chargebacks) from the command
line."""

from django.core.management.base import BaseCommand, CommandError

from labeler.errors import ImportRejected
from labeler.services.label_import import labels_import


class Command(BaseCommand):
    help = (
        "Import delayed labels (transaction id, class, date known: chargebacks, confirmed "
        "cases) onto a dataset's transactions as trusted labels: all rows or none."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (plain or .gz): transaction_id,class[,known_at]")
        parser.add_argument("--dataset", default="default", help="dataset name (default: default)")

    def handle(self, *args, **options):
        try:
            batch = labels_import(path=options["file"], dataset_name=options["dataset"])
        except ImportRejected as rejected:
            raise CommandError(f"{rejected} Nothing was imported.") from rejected
        changed = batch.column_mapping.get("changed", 0)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {batch.label_count} new labels of {batch.row_count} rows into dataset "
                f"{batch.dataset.name!r} ({changed} replaced an earlier imported class) "
                f"in {batch.duration_seconds:.1f} s (batch #{batch.id})."
            )
        )
