"""make_demo_data and quickstart: reproducible demo data and a superuser printed once."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from labeler.models import Label, ModelVersion, ReferenceLabel, Transaction

pytestmark = pytest.mark.django_db


def run(command, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_make_demo_data_imports_reference_labels_through_the_import_service():
    output = run("make_demo_data", "--kind", "reference-like", "--rows", "2000", "--seed", "3")
    assert "2000 transactions with 2000 reference labels" in output
    assert Transaction.objects.filter(dataset__name="demo").count() == 2000
    assert Label.objects.count() == 0  # demo labels are held back, not trusted
    frauds = ReferenceLabel.objects.filter(label_class__name="fraud").count()
    assert frauds == 10  # 0.5% of 2000
    first = Transaction.objects.order_by("id").first()
    assert len(first.feature_vector) == 30


def test_same_seed_is_the_same_file_and_is_refused_the_second_time():
    small = ["--customers", "40", "--terminals", "80", "--days", "10"]
    run("make_demo_data", *small, "--seed", "1")
    with pytest.raises(CommandError, match="already imported"):
        run("make_demo_data", *small, "--seed", "1")
    run("make_demo_data", *small, "--seed", "2", "--dataset", "demo2")
    assert Transaction.objects.filter(dataset__name="demo").count() > 100
    assert Transaction.objects.filter(dataset__name="demo2").count() > 100


def test_the_raw_demo_has_cards_merchants_and_dates():
    output = run("make_demo_data", "--customers", "60", "--terminals", "100", "--days", "15")
    assert "(raw)" in output
    row = Transaction.objects.order_by("id").first()
    assert row.card_key.startswith("card") and row.merchant_key.startswith("term")
    assert row.attributes["timestamp"].startswith("2026-01-05T")
    assert {"mcc", "country", "description"} <= set(row.attributes)
    assert ReferenceLabel.objects.filter(label_class__name="fraud").exists()
    assert Label.objects.count() == 0


def test_quickstart_creates_the_superuser_once_and_prints_its_password_once(settings):
    first = run("quickstart")
    password = first.split("password: ")[1].split()[0]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    token = first.split("API token: ")[1].split()[0]
    assert Token.objects.get(user=admin).key == token
    demo = Transaction.objects.filter(dataset__name="demo")
    assert demo.count() > 40_000 and demo.filter(card_key__isnull=False).count() == demo.count()

    assert "Queued training v" in first  # the cold-start run the worker picks up
    queued = ModelVersion.objects.get()
    assert queued.status == "queued" and queued.dataset.name == "demo"

    second = run("quickstart")
    assert "password:" not in second and "API token" not in second
    assert "Queued training" not in second and ModelVersion.objects.count() == 1
    assert "no demo data loaded" in second
    assert Transaction.objects.count() == demo.count()
