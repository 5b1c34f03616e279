"""The staff upload page calls the import service and shows its outcome."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeler.models import Transaction
from tests.labeler.importing_helpers import database_fingerprint, reference_csv

pytestmark = pytest.mark.django_db


def upload(client, content: str, name="cards.csv", **fields):
    data = {
        "file": SimpleUploadedFile(name, content.encode()),
        "dataset": "cards",
        "label_mode": "ignore",
        **fields,
    }
    return client.post("/import/", data)


def test_anonymous_is_sent_to_login(client):
    response = client.get("/import/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_non_staff_cannot_import(client, bob):
    client.force_login(bob)
    response = upload(client, reference_csv())
    assert response.status_code == 302
    assert Transaction.objects.count() == 0


def test_staff_imports_a_file(client, alice):
    client.force_login(alice)
    response = upload(client, reference_csv(rows=7), label_mode="reference")
    assert response.status_code == 200
    assert "Imported <strong>7</strong> transactions" in response.content.decode()
    assert Transaction.objects.filter(dataset__name="cards").count() == 7
    assert Transaction.objects.first().import_batch.imported_by == alice


def test_bad_file_shows_the_error_and_changes_nothing(client, alice):
    client.force_login(alice)
    before = database_fingerprint()
    response = upload(client, reference_csv().replace(",0.0200,", ",oops,", 1), name="broken.csv")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported." in page
    assert (
        "broken.csv, row 1 (line 2), column &#x27;V3&#x27;: &#x27;oops&#x27; is not a number"
        in page
    )
    assert database_fingerprint() == before


def test_htmx_request_gets_only_the_result_partial(client, alice):
    client.force_login(alice)
    response = client.post(
        "/import/",
        {
            "file": SimpleUploadedFile("c.csv", reference_csv().encode()),
            "dataset": "cards",
            "label_mode": "ignore",
        },
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page and "Recent imports" in page


def test_explicit_columns_from_the_form(client, alice):
    client.force_login(alice)
    content = "ref,when,total,a,b\nx1,0,5,1,2\nx2,1,6,3,4\n"
    response = upload(
        client,
        content,
        id_column="ref",
        time_column="when",
        amount_column="total",
        feature_columns="b",
    )
    assert response.status_code == 200
    assert list(Transaction.objects.values_list("external_id", flat=True)) == ["x1", "x2"]
    assert Transaction.objects.get(external_id="x2").feature_vector.tolist() == [4.0]


def test_invalid_dataset_name_is_a_form_error(client, alice):
    client.force_login(alice)
    response = upload(client, reference_csv(), dataset="not a slug!")
    assert response.status_code == 400
    assert Transaction.objects.count() == 0


def test_an_empty_upload_is_named_in_the_message(client, alice):
    client.force_login(alice)
    response = upload(client, "", name="nothing.csv")
    assert response.status_code == 400
    assert "nothing.csv: the file is empty." in response.content.decode()
