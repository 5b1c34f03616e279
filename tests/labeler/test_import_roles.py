"""An issuer's own export keeps every column: the card and the merchant each row belongs to,
categories encoded for the models and shown as written, text for people; the label column is
never shown. Roles are found from the header or named; bad input is refused naming row and
column, and changes nothing."""

import json

import numpy as np
import pytest

from labeler.errors import ImportRejected
from labeler.models import Dataset, Transaction
from labeler.services.import_columns import CATEGORY_LEVELS
from labeler.services.import_options import ColumnChoice
from labeler.services.importing import transactions_import
from modeling.synthetic_raw import RawSimulationConfig, raw_transactions_simulate
from tests.labeler.importing_helpers import database_fingerprint, write

pytestmark = pytest.mark.django_db

HEADER = (
    "transaction_id,timestamp,card_id,merchant_id,amount,currency,mcc,country,description,is_fraud"
)


def raw_csv(rows: list[str]) -> str:
    return HEADER + "\n" + "\n".join(rows) + "\n"


ROWS = [
    "t1,2026-01-05T09:15:00Z,card1,shop7,12.50,EUR,5411,BE,GROCERY 7 GENT,0",
    "t2,2026-01-05T09:20:00+01:00,card1,shop9,880.00,USD,5732,US,ELECTRONICS ONLINE US,1",
    "t3,2026-01-06T18:00:00Z,card2,shop7,3.20,EUR,5411,BE,GROCERY 7 GENT,0",
]


def test_an_issuers_export_keeps_cards_merchants_dates_and_text(tmp_path):
    batch = transactions_import(
        path=write(tmp_path, "export.csv", raw_csv(ROWS)),
        dataset_name="issuer",
        label_mode="reference",
    )
    mapping = batch.column_mapping
    assert (mapping["card"], mapping["merchant"]) == ("card_id", "merchant_id")
    assert mapping["categorical"] == ["currency", "mcc", "country"]
    assert mapping["text"] == ["description"] and mapping["kept"] == []
    first = Transaction.objects.get(external_id="t1")
    assert (first.card_key, first.merchant_key) == ("card1", "shop7")
    # As written in the file, for people; the label column is not among them.
    assert first.attributes == {
        "transaction_id": "t1",
        "timestamp": "2026-01-05T09:15:00Z",
        "amount": "12.5",
        "card_id": "card1",
        "merchant_id": "shop7",
        "currency": "EUR",
        "mcc": "5411",
        "country": "BE",
        "description": "GROCERY 7 GENT",
    }
    # Time zone aware: 09:20 at +01:00 is 08:20 UTC, 55 minutes before 09:15 UTC.
    second = Transaction.objects.get(external_id="t2")
    assert second.time - first.time == -3300.0
    # The categories are encoded for the models, most frequent value first, then "other".
    dataset = Dataset.objects.get(name="issuer")
    assert dataset.feature_names[:3] == ["currency=EUR", "currency=USD", "currency=other"]
    assert "mcc=5411" in dataset.feature_names and "country=other" in dataset.feature_names
    vector = dict(zip(dataset.feature_names, second.feature_vector, strict=True))
    assert vector["currency=USD"] == 1.0 and vector["currency=EUR"] == 0.0
    assert dataset.schema["card"] == "card_id" and dataset.schema["time"] == "datetime"
    assert dict(dataset.schema["categorical"])["mcc"] == ["5411", "5732"]


def test_roles_named_on_the_command_line_win_over_the_header(tmp_path):
    content = "ref,when,acct,term,amt,channel,note,x\nr1,10,a1,m1,5,web,hello,0.5\n"
    batch = transactions_import(
        path=write(tmp_path, "named.csv", content),
        dataset_name="named",
        columns=ColumnChoice(
            id_column="ref",
            time_column="when",
            amount_column="amt",
            card_column="acct",
            merchant_column="term",
            categorical_columns=("channel",),
            text_columns=("note",),
        ),
    )
    mapping = batch.column_mapping
    assert (mapping["card"], mapping["merchant"]) == ("acct", "term")
    assert mapping["categorical"] == ["channel"] and mapping["text"] == ["note"]
    assert mapping["features"] == ["x"]
    row = Transaction.objects.get()
    assert (row.card_key, row.merchant_key) == ("a1", "m1")
    assert row.attributes["note"] == "hello"


def test_a_file_of_numbers_only_keeps_its_layout(tmp_path):
    from tests.labeler.importing_helpers import reference_csv

    transactions_import(path=write(tmp_path, "ref.csv", reference_csv(rows=3)), dataset_name="r")
    row = Transaction.objects.first()
    assert row.card_key is None and row.merchant_key is None and row.attributes is None
    assert Dataset.objects.get(name="r").schema == {}


def test_a_later_file_is_encoded_as_the_first_was(tmp_path):
    transactions_import(path=write(tmp_path, "a.csv", raw_csv(ROWS)), dataset_name="issuer")
    later = ["t9,2026-02-01T10:00:00Z,card3,shop1,40,GBP,5999,GB,SHOP 1 LEUVEN,0"]
    transactions_import(path=write(tmp_path, "b.csv", raw_csv(later)), dataset_name="issuer")
    dataset = Dataset.objects.get(name="issuer")
    vector = dict(
        zip(
            dataset.feature_names,
            Transaction.objects.get(external_id="t9").feature_vector,
            strict=True,
        )
    )
    # GBP, 5999 and GB were not in the first file: "other", in the same columns as before.
    assert vector["currency=other"] == vector["mcc=other"] == vector["country=other"] == 1.0


def test_a_category_keeps_its_most_frequent_values(tmp_path):
    rows = [f"t{i},{i},c{i % 3},m1,5,C{i % 40:02d},x" for i in range(400)]
    content = "id,time,card_id,merchant_id,amount,channel,v\n" + "\n".join(rows) + "\n"
    content = content.replace(",x\n", ",1\n")
    transactions_import(path=write(tmp_path, "many.csv", content), dataset_name="many")
    names = Dataset.objects.get(name="many").feature_names
    channels = [name for name in names if name.startswith("channel=")]
    assert len(channels) == CATEGORY_LEVELS + 1 and channels[-1] == "channel=other"


BAD = {
    "empty card id": (
        ["t1,2026-01-05T09:15:00Z,,shop7,12.50,EUR,5411,BE,G,0"],
        {},
        r"row 1 \(line 2\), column 'card_id': the card id is empty",
    ),
    "date that does not parse": (
        ["t1,2026-13-45T09:15:00Z,card1,shop7,12.50,EUR,5411,BE,G,0"],
        {},
        r"row 1 \(line 2\), column 'timestamp': '2026-13-45T09:15:00Z' is neither a number of "
        "seconds nor an ISO date-time",
    ),
    "missing named merchant column": (
        ROWS,
        {"merchant_column": "terminal"},
        r"the merchant column 'terminal' is missing",
    ),
}


@pytest.mark.parametrize("rows,choice,message", BAD.values(), ids=BAD.keys())
def test_bad_input_is_refused_naming_the_place_and_changes_nothing(tmp_path, rows, choice, message):
    transactions_import(path=write(tmp_path, "ok.csv", raw_csv(ROWS)), dataset_name="issuer")
    before = database_fingerprint()
    with pytest.raises(ImportRejected, match=message):
        transactions_import(
            path=write(tmp_path, "bad.csv", raw_csv(rows).replace("t1,", "u1,")),
            dataset_name="fresh",
            columns=ColumnChoice(**choice),
        )
    assert database_fingerprint() == before


def test_a_category_of_100000_values_is_refused_with_what_to_do(tmp_path):
    rows = [f"t{i},{i},c1,m1,5,code{i},1" for i in range(1_200)]
    content = "id,time,card_id,merchant_id,amount,promo,v\n" + "\n".join(rows) + "\n"
    before = database_fingerprint()
    with pytest.raises(
        ImportRejected, match="1,200 distinct values is too many for a category"
    ) as refused:
        transactions_import(
            path=write(tmp_path, "promo.csv", content),
            dataset_name="promo",
            columns=ColumnChoice(categorical_columns=("promo",)),
        )
    assert "--text-columns" in str(refused.value) and "--card-column" in str(refused.value)
    assert database_fingerprint() == before
    # Found rather than named, so many values make it text: shown, not encoded.
    batch = transactions_import(path=write(tmp_path, "promo.csv", content), dataset_name="promo")
    assert batch.column_mapping["text"] == ["promo"]


def test_the_simulated_export_imports_whole(tmp_path):
    simulated = raw_transactions_simulate(RawSimulationConfig(customers=50, terminals=100, days=10))
    path = tmp_path / "simulated.csv"
    simulated.frame.to_csv(path, index=False)
    batch = transactions_import(path=path, dataset_name="sim", label_mode="reference")
    assert batch.row_count == len(simulated.frame)
    assert batch.column_mapping["categorical"] == ["currency", "mcc", "country", "entry_mode"]
    assert batch.column_mapping["text"] == ["description"]
    row = Transaction.objects.order_by("id").first()
    assert row.card_key.startswith("card") and row.merchant_key.startswith("term")
    assert "is_fraud" not in row.attributes
    assert json.dumps(row.attributes)  # plain JSON
    assert np.isfinite(row.feature_vector).all()


def test_the_command_and_the_api_name_the_roles(tmp_path, alice):
    from django.core.management import call_command
    from rest_framework.test import APIClient

    content = "id,time,acct,merchant_id,amount,x\nr1,10,a1,m1,5,0.5\n"
    call_command(
        "import_transactions",
        str(write(tmp_path, "cmd.csv", content)),
        "--dataset",
        "cmd",
        "--card-column",
        "acct",
        "--merchant-column",
        "-",
        stdout=open("/dev/null", "w"),  # noqa: SIM115
    )
    row = Transaction.objects.get(dataset__name="cmd")
    assert (row.card_key, row.merchant_key) == ("a1", None)  # '-': no merchant column
    assert row.attributes["merchant_id"] == "m1"  # still kept as written
    client = APIClient()
    client.force_authenticate(alice)
    with open(write(tmp_path, "api.csv", content.replace("r1", "r2")), "rb") as upload:
        response = client.post(
            "/api/v1/imports/",
            {"file": upload, "dataset": "api", "card_column": "acct", "categorical_columns": "x"},
            format="multipart",
        )
    assert response.status_code == 201, response.json()
    assert response.json()["column_mapping"]["categorical"] == ["x"]
    assert Transaction.objects.get(dataset__name="api").card_key == "a1"
