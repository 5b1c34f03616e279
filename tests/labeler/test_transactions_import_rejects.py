"""Bad files: one clear error naming file, row and column, and a database left as it was."""

import pytest

from labeler.errors import ImportRejected
from labeler.services.import_options import ColumnChoice
from labeler.services.importing import transactions_import
from tests.labeler.importing_helpers import (
    REFERENCE_HEADER,
    database_fingerprint,
    reference_csv,
    reference_row,
    write,
)

pytestmark = pytest.mark.django_db

GOOD_ROWS = [reference_row(float(i), 10.0, 0) for i in range(4)]


def with_row(bad_row: str, at: int = 2) -> str:
    rows = list(GOOD_ROWS)
    rows.insert(at, bad_row)
    return "\n".join([REFERENCE_HEADER, *rows]) + "\n"


def replace_cell(column_index: int, value: str) -> str:
    cells = reference_row(9.0, 10.0, 0).split(",")
    cells[column_index] = value
    return with_row(",".join(cells))


BAD_FILES = {
    "empty file": ("", r"bad\.csv: the file is empty"),
    "blank lines only": ("\n\n  \n", r"the file is empty"),
    "header without rows": (REFERENCE_HEADER + "\n", r"no data rows"),
    "not csv (one column)": ("just some words\nand more words\n", r"line 1: found 1 column"),
    "binary file": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10, r"binary file, not a CSV"),
    "not utf-8": (
        ("Time,Amount,V1\n0,1,2\n1,2,caf\xe9\n").encode("latin-1"),
        r"line 3: not UTF-8 text \(byte 0xe9\)",
    ),
    "missing amount column": (
        reference_csv().replace(",Amount,", ",Total,"),
        r"no amount column .*--amount-column",
    ),
    "duplicated column": (
        reference_csv().replace("V2,", "V1,", 1),
        r"line 1: duplicated column\(s\) 'V1'",
    ),
    "unnamed column": ("Time,Amount,,V1\n0,1,2,3\n", r"column 3 has no name"),
    "non-numeric feature": (
        replace_cell(5, "abc"),
        r"row 3 \(line 4\), column 'V5': 'abc' is not a number",
    ),
    "empty feature": (replace_cell(7, ""), r"row 3 \(line 4\), column 'V7': the value is empty"),
    "nan feature": (
        replace_cell(1, "NaN"),
        r"row 3 \(line 4\), column 'V1': 'NaN' is not a finite number",
    ),
    "infinite amount": (
        replace_cell(29, "inf"),
        r"row 3 \(line 4\), column 'Amount': inf is not a finite number",
    ),
    "too large for float32": (
        replace_cell(3, "1e300"),
        r"row 3 \(line 4\), column 'V3': 1e\+300 is too large for a 32-bit",
    ),
    "text time": (replace_cell(0, "yesterday"), r"row 3 \(line 4\), column 'Time': 'yesterday'"),
    "ragged row": (
        with_row(reference_row(9.0, 1.0, 0) + ",7,8"),
        r"bad.csv, line 4: 33 fields where the header has 31",
    ),
    "short row": (with_row("1,2,3"), r"row 3 \(line 4\), column 'V3': the value is empty"),
    "gzip that is broken": (b"\x1f\x8b\x08\x00garbage-garbage", r"not a readable gzip file"),
}


@pytest.mark.parametrize("content,message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_file_is_refused_and_changes_nothing(tmp_path, content, message):
    transactions_import(path=write(tmp_path, "ok.csv", reference_csv(rows=2)), dataset_name="cards")
    before = database_fingerprint()

    with pytest.raises(ImportRejected, match=message):
        transactions_import(path=write(tmp_path, "bad.csv", content), dataset_name="cards")

    assert database_fingerprint() == before


def test_duplicate_ids_inside_the_file(tmp_path):
    content = "id,Time,Amount,V1\na,0,1,1\nb,1,1,1\na,2,1,1\n"
    with pytest.raises(
        ImportRejected, match=r"row 3 \(line 4\), column 'id': id 'a' also appears on row 1"
    ):
        transactions_import(path=write(tmp_path, "dup.csv", content), dataset_name="d")
    assert database_fingerprint()["transactions"] == 0


def test_duplicate_ids_against_the_dataset(tmp_path):
    transactions_import(
        path=write(tmp_path, "one.csv", "id,Time,Amount,V1\na,0,1,1\nb,1,1,1\n"), dataset_name="d"
    )
    before = database_fingerprint()
    with pytest.raises(
        ImportRejected, match=r"row 2 \(line 3\), column 'id': id 'b' is already in dataset 'd'"
    ):
        transactions_import(
            path=write(tmp_path, "two.csv", "id,Time,Amount,V1\nc,2,1,1\nb,3,1,1\n"),
            dataset_name="d",
        )
    assert database_fingerprint() == before


def test_feature_schema_must_match_the_dataset(tmp_path):
    transactions_import(
        path=write(tmp_path, "one.csv", "Time,Amount,V1,V2\n0,1,1,2\n"), dataset_name="d"
    )
    before = database_fingerprint()
    with pytest.raises(
        ImportRejected, match=r"feature columns differ .*missing 'V2'; unexpected 'V3'"
    ):
        transactions_import(
            path=write(tmp_path, "two.csv", "Time,Amount,V1,V3\n0,1,1,2\n"), dataset_name="d"
        )
    with pytest.raises(ImportRejected, match=r"same columns in another order"):
        transactions_import(
            path=write(tmp_path, "three.csv", "Time,Amount,V2,V1\n0,1,1,2\n"), dataset_name="d"
        )
    assert database_fingerprint() == before


@pytest.mark.parametrize("mode", ["trusted", "reference"])
def test_label_outside_the_configured_classes(tmp_path, mode):
    content = "Time,Amount,V1,Class\n0,1,1,0\n1,1,1,2\n"
    with pytest.raises(
        ImportRejected,
        match=r"row 2 \(line 3\), column 'Class': label '2' is not a configured class",
    ):
        transactions_import(
            path=write(tmp_path, "labels.csv", content), dataset_name="d", label_mode=mode
        )
    assert database_fingerprint()["transactions"] == 0


def test_label_column_required_when_labels_are_imported(tmp_path):
    with pytest.raises(ImportRejected, match=r"no label column"):
        transactions_import(
            path=write(tmp_path, "nolabel.csv", "Time,Amount,V1\n0,1,1\n"),
            dataset_name="d",
            label_mode="trusted",
        )


def test_named_column_missing_from_the_file(tmp_path):
    with pytest.raises(ImportRejected, match=r"the time column 'when' is missing"):
        transactions_import(
            path=write(tmp_path, "x.csv", reference_csv()),
            dataset_name="d",
            columns=ColumnChoice(time_column="when"),
        )
    with pytest.raises(ImportRejected, match=r"feature column\(s\) 'V99' missing"):
        transactions_import(
            path=write(tmp_path, "x.csv", reference_csv()),
            dataset_name="d",
            columns=ColumnChoice(feature_columns=("V1", "V99")),
        )


def test_unreadable_path(tmp_path):
    with pytest.raises(ImportRejected, match=r"nowhere.csv: cannot read the file"):
        transactions_import(path=tmp_path / "nowhere.csv", dataset_name="d")


def test_failure_after_rows_were_written_rolls_everything_back(tmp_path, monkeypatch):
    """A crash between the transaction rows and the label rows must not leave half an import."""
    from labeler.services import importing

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(importing, "_insert_labels", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        transactions_import(
            path=write(tmp_path, "x.csv", reference_csv()), dataset_name="d", label_mode="trusted"
        )
    assert database_fingerprint() == {key: 0 for key in database_fingerprint()}
