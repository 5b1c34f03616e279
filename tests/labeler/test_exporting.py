"""Label exports: what each column holds, chunking, the command and its refusals."""

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from labeler.models import ModelVersion
from labeler.services.exporting import (
    COLUMNS,
    ExportRefused,
    export_chunks,
    export_csv,
    export_request_check,
)
from labeler.services.review import transaction_review
from tests.factories import (
    DatasetFactory,
    LabelFactory,
    ModelVersionFactory,
    PseudoLabelFactory,
    TransactionFactory,
    label_class,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(bob, alice, dora):
    """Five transactions: one labeled, one overruled, one disputed, one pseudo-labeled, one
    untouched."""
    dataset = DatasetFactory(name="export")
    version = ModelVersionFactory(dataset=dataset, status=ModelVersion.Status.ACTIVE)
    rows = [
        TransactionFactory(
            import_batch__dataset=dataset, external_id=f"e{i}", score=0.1 * i, scored_by=version
        )
        for i in range(5)
    ]
    LabelFactory(transaction=rows[0], annotator=bob, label_class=label_class("fraud"))
    LabelFactory(transaction=rows[1], annotator=bob, label_class=label_class("legit"))
    with transaction.atomic():
        transaction_review(
            reviewer=dora, transaction_id=rows[1].pk, label_class=label_class("fraud")
        )
    LabelFactory(transaction=rows[2], annotator=bob, label_class=label_class("legit"))
    LabelFactory(transaction=rows[2], annotator=alice, label_class=label_class("fraud"))
    PseudoLabelFactory(
        transaction=rows[3],
        model_version=version,
        label_class=label_class("legit"),
        probability=0.999,
    )
    return dataset, rows, version


def by_id(request) -> dict[str, dict]:
    return {row["external_id"]: row for chunk in export_chunks(request) for row in chunk}


def test_human_reviewer_and_pseudo_labels_sit_in_separate_columns(history):
    version = history[2]
    out = by_id(export_request_check(dataset_name="export", format="csv"))
    assert list(out["e0"]) == [name for name, _, _ in COLUMNS]
    assert (out["e0"]["human_label"], out["e0"]["label"], out["e0"]["label_source"]) == (
        "fraud",
        "fraud",
        "human",
    )
    overruled = out["e1"]
    assert (overruled["human_label"], overruled["reviewer_label"]) == ("legit", "fraud")
    assert (overruled["reviewer_verdict"], overruled["reviewer"]) == ("overrule", "dora")
    assert (overruled["label"], overruled["label_source"]) == ("fraud", "reviewer")
    disputed = out["e2"]
    assert disputed["human_disagreement"] is True and disputed["human_label_count"] == 2
    assert disputed["human_annotators"] == "bob;alice" and disputed["label"] is None
    pseudo = out["e3"]
    assert (pseudo["pseudo_label"], pseudo["pseudo_label_version"]) == ("legit", version.pk)
    assert pseudo["human_label"] is None and pseudo["label_source"] == "pseudo"
    assert out["e4"]["label"] is None and out["e4"]["model_score"] == pytest.approx(0.4)
    assert not out["e0"]["audit_frame"] and out["e0"]["audit_inclusion"] is None


def test_rows_of_the_audit_frame_say_so_with_their_inclusion_probability(history):
    _, rows, _ = history
    rows[4].audit_number, rows[4].audit_inclusion = 0.3, 0.42
    rows[4].save()
    out = by_id(export_request_check(dataset_name="export", format="csv"))
    assert out["e4"]["audit_frame"] is True and out["e4"]["audit_inclusion"] == 0.42


def test_rows_come_in_chunks_and_labeled_only_leaves_untouched_rows_out(history):
    request = export_request_check(dataset_name="export", format="csv")
    assert [len(chunk) for chunk in export_chunks(request, chunk_size=2)] == [2, 2, 1]
    labeled = export_request_check(dataset_name="export", format="csv", labeled_only=True)
    assert set(by_id(labeled)) == {"e0", "e1", "e2", "e3"}
    lines = b"".join(export_csv(request)).decode()
    assert len(list(csv.DictReader(io.StringIO(lines)))) == 5


def test_the_command_writes_each_format(history, tmp_path):
    call_command("export_labels", str(tmp_path / "out.parquet"), "--dataset", "export")
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.num_rows == 5
    assert table.column("reviewer_label").to_pylist()[1] == "fraud"
    call_command("export_labels", str(tmp_path / "out.jsonl"), "--labeled-only")
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 4
    stdout = io.StringIO()
    call_command("export_labels", "-", "--format", "jsonl", stdout=stdout)
    assert json.loads(stdout.getvalue().splitlines()[0])["external_id"] == "e0"


def test_bad_requests_are_refused_with_a_reason(history, tmp_path):
    with pytest.raises(ExportRefused, match="datasets: export"):
        export_request_check(dataset_name="nope", format="csv")
    with pytest.raises(CommandError, match="unknown export format 'xlsx'"):
        call_command("export_labels", str(tmp_path / "out.xlsx"))
    with pytest.raises(CommandError, match="Parquet needs a file"):
        call_command("export_labels", "-", "--format", "parquet")
