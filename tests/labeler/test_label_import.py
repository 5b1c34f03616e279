"""Delayed labels: a file of (transaction id, class, date known) becomes trusted labels on the
dataset's transactions, with their dates; all or nothing; a file sent twice changes nothing."""

from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from labeler.errors import ImportRejected
from labeler.models import ImportBatch, Label
from labeler.services.importing import transactions_import
from labeler.services.label_import import labels_import
from tests.factories import label_class
from tests.labeler.importing_helpers import database_fingerprint, write

pytestmark = pytest.mark.django_db

EXPORT = (
    "transaction_id,timestamp,card_id,merchant_id,amount,mcc\n"
    "t1,2026-01-05T09:00:00Z,c1,m1,10,5411\n"
    "t2,2026-01-05T10:00:00Z,c1,m2,900,5732\n"
    "t3,2026-01-06T11:00:00Z,c2,m1,5,5411\n"
)


@pytest.fixture
def dataset(tmp_path):
    return transactions_import(path=write(tmp_path, "export.csv", EXPORT), dataset_name="cards")


def test_chargebacks_become_trusted_labels_with_their_dates(tmp_path, dataset):
    content = "transaction_id,class,known_at\nt2,fraud,2026-01-19T08:00:00Z\nt3,0,2026-02-01\n"
    batch = labels_import(path=write(tmp_path, "cb.csv", content), dataset_name="cards")
    assert (batch.row_count, batch.label_count) == (2, 2)
    assert batch.label_mode == ImportBatch.LabelMode.TRUSTED
    fraud = Label.objects.get(transaction__external_id="t2")
    assert fraud.label_class == label_class("fraud") and fraud.annotator is None
    assert fraud.decision == Label.Decision.IMPORTED and fraud.import_batch == batch
    assert fraud.known_at == datetime(2026, 1, 19, 8, tzinfo=UTC)
    assert Label.objects.get(transaction__external_id="t3").known_at == datetime(
        2026, 2, 1, tzinfo=UTC
    )


def test_a_reversed_chargeback_supersedes_and_the_same_class_again_changes_nothing(
    tmp_path, dataset
):
    labels_import(path=write(tmp_path, "a.csv", "id,class\nt2,fraud\n"), dataset_name="cards")
    again = labels_import(
        path=write(tmp_path, "b.csv", "id,class\nt2,fraud\nt1,legit\n"), dataset_name="cards"
    )
    assert again.label_count == 1  # t2 was fraud already; only t1 is new
    reversed_ = labels_import(
        path=write(tmp_path, "c.csv", "id,class\nt2,legit\n"), dataset_name="cards"
    )
    assert reversed_.column_mapping["changed"] == 1
    history = Label.objects.filter(transaction__external_id="t2").order_by("id")
    assert [(label.label_class.name, label.status) for label in history] == [
        ("fraud", "superseded"),
        ("legit", "active"),
    ]


BAD = {
    "unknown ids": (
        "id,class\nt1,fraud\nx9,fraud\nx10,legit\n",
        r"2 transaction id\(s\) are not in",
    ),
    "unknown class": ("id,class\nt1,maybe\n", r"row 1 \(line 2\), column 'class': 'maybe' is not"),
    "bad date": (
        "id,class,known_at\nt1,fraud,yesterday\n",
        r"row 1 \(line 2\), column 'known_at': 'yesterday' is not an ISO date-time",
    ),
    "duplicated id": ("id,class\nt1,fraud\nt1,legit\n", r"row 2 \(line 3\).*also appears on row 1"),
    "no class column": ("id,verdict\nt1,fraud\n", "no class column"),
}


@pytest.mark.parametrize("content,message", BAD.values(), ids=BAD.keys())
def test_a_bad_file_is_refused_and_changes_nothing(tmp_path, dataset, content, message):
    before = database_fingerprint()
    with pytest.raises(ImportRejected, match=message):
        labels_import(path=write(tmp_path, "bad.csv", content), dataset_name="cards")
    assert database_fingerprint() == before


def test_the_same_file_twice_is_refused(tmp_path, dataset):
    path = write(tmp_path, "cb.csv", "id,class\nt1,fraud\n")
    labels_import(path=path, dataset_name="cards")
    with pytest.raises(ImportRejected, match="already imported"):
        labels_import(path=path, dataset_name="cards")


def test_the_command_and_the_api(tmp_path, dataset, alice):
    call_command(
        "import_labels",
        str(write(tmp_path, "cmd.csv", "id,class\nt1,fraud\n")),
        "--dataset",
        "cards",
        stdout=open("/dev/null", "w"),  # noqa: SIM115
    )
    client = APIClient()
    client.force_authenticate(alice)
    with open(write(tmp_path, "api.csv", "id,class\nt3,fraud\nnope,fraud\n"), "rb") as upload:
        refused = client.post(
            "/api/v1/label-files/", {"file": upload, "dataset": "cards"}, format="multipart"
        )
    assert refused.status_code == 400 and "'nope'" in refused.json()["detail"]
    with open(write(tmp_path, "api2.csv", "id,class\nt3,fraud\n"), "rb") as upload:
        done = client.post(
            "/api/v1/label-files/", {"file": upload, "dataset": "cards"}, format="multipart"
        )
    assert done.status_code == 201 and done.json()["label_count"] == 1
    assert set(Label.objects.values_list("transaction__external_id", flat=True)) == {"t1", "t3"}


def test_the_export_and_the_review_page_show_where_a_label_came_from_and_when(
    tmp_path, dataset, dora, client
):
    from labeler.services.exporting import export_chunks, export_request_check

    content = "id,class,known_at\nt2,fraud,2026-01-19T08:00:00Z\n"
    labels_import(path=write(tmp_path, "chargebacks.csv", content), dataset_name="cards")
    request = export_request_check(dataset_name="cards", format="csv")
    rows = {row["external_id"]: row for chunk in export_chunks(request) for row in chunk}
    assert rows["t2"]["human_annotators"] == "import"
    assert rows["t2"]["human_label_known_at"] == "2026-01-19T08:00:00+00:00"
    from labeler.services.review_rules import review_item_open

    transaction_id = Label.objects.get().transaction_id
    review_item_open(transaction_id=transaction_id, reason="four_eyes")
    client.force_login(dora)
    page = client.get("/review/").content.decode()
    assert "import: chargebacks.csv" in page and "known 2026-01-19 08:00" in page
