"""python manage.py make_demo_data: a reproducible synthetic dataset, through the import service."""

from django.core.management.base import BaseCommand, CommandError

from labeler.errors import ImportRejected
from labeler.services.demo import demo_data_import, raw_demo_import


class Command(BaseCommand):
    help = (
        "Generate seeded synthetic transactions with reference labels and import them: raw "
        "card transactions (cards, merchants, dates; the default) or the reference-like "
        "layout of anonymised features."
    )

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=["raw", "reference-like"], default="raw")
        parser.add_argument("--customers", type=int, default=500, help="raw: cards")
        parser.add_argument("--terminals", type=int, default=1_000, help="raw: merchants")
        parser.add_argument("--days", type=int, default=60, help="raw: days of transactions")
        parser.add_argument("--rows", type=int, default=50_000, help="reference-like")
        parser.add_argument("--features", type=int, default=30, help="reference-like")
        parser.add_argument("--fraud-rate", type=float, default=0.005, help="reference-like")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--dataset", default="demo")

    def handle(self, *args, **options):
        try:
            if options["kind"] == "raw":
                batch = raw_demo_import(
                    customers=options["customers"],
                    terminals=options["terminals"],
                    days=options["days"],
                    seed=options["seed"],
                    dataset_name=options["dataset"],
                )
            else:
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
                f"Demo dataset {batch.dataset.name!r} ({options['kind']}): {batch.row_count} "
                f"transactions with {batch.label_count} reference labels (seed {options['seed']})."
            )
        )
