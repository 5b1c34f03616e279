"""The import service on good files: the reference format, generic CSVs, labels, repeats."""

import numpy as np
import pytest

from labeler import selectors
from labeler.errors import ImportRejected
from labeler.models import Dataset, ImportBatch, Label, LabelClass, ReferenceLabel, Transaction
from labeler.services.import_options import ColumnChoice
from labeler.services.importing import transactions_import
from tests.labeler.importing_helpers import database_fingerprint, reference_csv, write

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_reference_format_imports_every_row_with_features_as_float32(tmp_path, gzipped):
    path = write(
        tmp_path, "cards.csv.gz" if gzipped else "cards.csv", reference_csv(rows=5), gzipped=gzipped
    )

    batch = transactions_import(path=path, dataset_name="cards")

    assert batch.row_count == 5 and batch.label_count == 0
    assert Dataset.objects.get(name="cards").feature_names == [f"V{i}" for i in range(1, 29)]
    third = Transaction.objects.get(dataset__name="cards", external_id="3")
    assert third.time == 2.0 and third.amount == 12.0
    assert third.feature_vector.dtype == np.float32
    np.testing.assert_allclose(third.feature_vector[:3], [0.2, 0.21, 0.22], rtol=1e-6)
    assert Label.objects.count() == 0  # the default ignores the label column


def test_rows_without_ids_are_numbered_after_the_dataset_rows(tmp_path):
    transactions_import(path=write(tmp_path, "a.csv", reference_csv(rows=3)), dataset_name="d")
    second = reference_csv(rows=4).replace("\n0.0,", "\n100.0,", 1)
    transactions_import(path=write(tmp_path, "b.csv", second), dataset_name="d")

    ids = sorted(Transaction.objects.values_list("external_id", flat=True), key=int)
    assert ids == [str(n) for n in range(1, 8)]


def test_generic_csv_with_id_text_columns_and_iso_times(tmp_path):
    content = (
        "txn_id,merchant,timestamp,amt,f1,f2,label\n"
        "a-1,Shop One,2026-01-01T00:00:00Z,5.5,1,2,0\n"
        "a-2,Shop Two,2026-01-01T00:01:00Z,7.25,3,4.5,1\n"
    )
    path = write(tmp_path, "generic.csv", content)

    batch = transactions_import(path=path, dataset_name="generic", label_mode="trusted")

    assert batch.column_mapping["features"] == ["f1", "f2"]
    assert batch.column_mapping["merchant"] == "merchant"  # found by its usual name
    second = Transaction.objects.get(external_id="a-2")
    assert second.time - Transaction.objects.get(external_id="a-1").time == 60.0
    assert second.amount == 7.25
    np.testing.assert_allclose(second.feature_vector, [3.0, 4.5])
    assert Label.objects.get(transaction=second).label_class.name == "fraud"


def test_columns_chosen_by_name_leave_the_rest_out(tmp_path):
    content = "when,how_much,x,y,z,ref\n1,2,3,4,5,r1\n2,3,4,5,6,r2\n"
    path = write(tmp_path, "named.csv", content)

    batch = transactions_import(
        path=path,
        dataset_name="named",
        columns=ColumnChoice(
            id_column="ref",
            time_column="when",
            amount_column="how_much",
            feature_columns=("z", "x"),
        ),
    )

    assert batch.feature_names == ["z", "x"]
    np.testing.assert_allclose(Transaction.objects.get(external_id="r2").feature_vector, [6, 4])


def test_trusted_labels_become_active_imported_labels(tmp_path):
    path = write(tmp_path, "chargebacks.csv", reference_csv(rows=6, frauds=(1, 4)))

    batch = transactions_import(path=path, dataset_name="cards", label_mode="trusted")

    labels = Label.objects.filter(import_batch=batch)
    assert batch.label_count == 6 == labels.count()
    assert set(labels.values_list("status", "decision").distinct()) == {("active", "imported")}
    frauds = labels.filter(label_class__name="fraud").values_list(
        "transaction__external_id", flat=True
    )
    assert sorted(frauds) == ["2", "5"]
    assert selectors.training_labels(dataset=batch.dataset).count() == 6


def test_trusted_labels_may_leave_rows_unlabeled(tmp_path):
    content = "id,Time,Amount,V1,Class\nx,0,1,0.1,1\ny,1,2,0.2,\n"
    batch = transactions_import(
        path=write(tmp_path, "partial.csv", content), dataset_name="p", label_mode="trusted"
    )
    assert batch.label_count == 1
    assert Label.objects.get().transaction.external_id == "x"


def test_reference_labels_are_held_back_from_training_and_labels(tmp_path):
    path = write(tmp_path, "reference.csv", reference_csv(rows=8, frauds=(3, 7)))

    batch = transactions_import(path=path, dataset_name="cards", label_mode="reference")

    assert batch.label_count == 8
    assert Label.objects.count() == 0
    assert selectors.training_labels(dataset=batch.dataset).count() == 0
    fraud = LabelClass.objects.get(name="fraud")
    held_back = ReferenceLabel.objects.filter(label_class=fraud)
    assert sorted(held_back.values_list("transaction__external_id", flat=True)) == ["4", "8"]


def test_label_values_written_as_floats_map_to_class_codes(tmp_path):
    content = "Time,Amount,V1,Class\n0,1,0.5,1.0\n1,2,0.5,0.0\n"
    transactions_import(
        path=write(tmp_path, "f.csv", content), dataset_name="f", label_mode="reference"
    )
    assert ReferenceLabel.objects.filter(label_class__name="fraud").count() == 1


def test_the_same_file_twice_is_refused_by_checksum(tmp_path):
    path = write(tmp_path, "cards.csv", reference_csv())
    first = transactions_import(path=path, dataset_name="cards")
    before = database_fingerprint()
    renamed = write(tmp_path, "renamed.csv", reference_csv())

    with pytest.raises(ImportRejected, match=rf"already imported .* batch #{first.id}"):
        transactions_import(path=renamed, dataset_name="cards")

    assert database_fingerprint() == before


def test_batch_records_what_came_in(tmp_path, alice):
    path = write(tmp_path, "cards.csv", reference_csv(rows=4))
    batch = transactions_import(
        path=path, dataset_name="cards", imported_by=alice, label_mode="reference"
    )
    stored = ImportBatch.objects.get(pk=batch.pk)
    assert (stored.file_name, stored.row_count, stored.imported_by) == ("cards.csv", 4, alice)
    assert len(stored.checksum) == 64 and stored.duration_seconds > 0
