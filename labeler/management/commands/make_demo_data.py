"""python manage.py make_demo_data: a reproducible synthetic dataset, through the import service."""

from django.core.management.base import BaseCommand, CommandError

from labeler.errors import ImportRejected
from labeler.services.demo import demo_data_import


class Command(BaseCommand):
    help = "Generate seeded synthetic transactions with reference labels and import them."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=50_000)
        parser.add_argument("--features", type=int, default=30)
        parser.add_argument("--fraud-rate", type=float, default=0.005)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--dataset", default="demo")

    def handle(self, *args, **options):
        try:
            batch = demo_data_import(
                rows=options["rows"],
                features=options["features"],
                fraud_rate=options["fraud_rate"],
                seed=options["seed"],
                dataset_name=options["dataset"],
            )
        except (ImportRejected, ValueError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo dataset {batch.dataset.name!r}: {batch.row_count} transactions with "
                f"{batch.label_count} reference labels (seed {options['seed']})."
            )
        )
