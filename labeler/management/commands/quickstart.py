"""python manage.py quickstart: the demo superuser and demo data, each only when missing."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from labeler.models import Dataset, ModelVersion, Transaction
from labeler.services.training_runs import training_request_if_due


class Command(BaseCommand):
    help = "Create the demo superuser (password printed once); load demo data if the DB is empty."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, **options):
        users = get_user_model()
        username = options["username"]
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write(
                "A superuser exists already: its password was printed when it was made."
            )
        else:
            password = secrets.token_urlsafe(12)
            user = users.objects.create_superuser(username=username, email="", password=password)
            token = Token.objects.create(user=user)
            banner = "=" * 64
            self.stdout.write(
                self.style.SUCCESS(
                    f"{banner}\nDemo superuser created (shown once, keep it):\n"
                    f"  username: {username}\n  password: {password}\n"
                    f"  API token: {token.key}  (Authorization: Token <key>)\n"
                    f"  sign in at http://127.0.0.1:8000/ ; API docs at /api/docs/\n{banner}"
                )
            )
        if Transaction.objects.exists():
            self.stdout.write("The database holds transactions already: no demo data loaded.")
        else:
            call_command("make_demo_data", stdout=self.stdout)
        for dataset in Dataset.objects.all():
            # The first (cold-start) run builds the queue annotators start from; the worker
            # that starts next picks it up.
            request = training_request_if_due(dataset=dataset, trigger=ModelVersion.Trigger.COMMAND)
            if request is not None and request.created:
                self.stdout.write(
                    f"Queued training v{request.version.pk} for {dataset.name!r}: the worker "
                    "started next builds the first queue."
                )
