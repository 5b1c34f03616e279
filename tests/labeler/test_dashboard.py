"""The dashboard's figures on a known small case, and the page that shows them."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from labeler.models import Label, ModelVersion, ReviewItem
from labeler.pages.home import dataset_dashboard
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

READY_QUALITY = {
    "labels": 40,
    "frauds": 9,
    "frame_rows": 1000,
    "population": 10_000,
    "level": 0.9,
    "average_precision": {"value": 0.4, "low": 0.25, "high": 0.6},
    "precision_at_top": {"value": 0.8, "low": 0.6, "high": 1.0},
    "top_share": 0.001,
    "top_count": 10,
    "recall_at_budget": {"value": 0.7, "low": 0.5, "high": 0.9},
    "budget_share": 0.01,
    "budget_count": 100,
    "frauds_total": {"value": 30.0, "low": 20.0, "high": 55.0},
    "frauds_missed": {"value": 18.0, "low": 8.0, "high": 43.0},
}


@pytest.fixture
def board_data(bob, alice, dora):
    dataset = DatasetFactory(name="board")
    rows = [TransactionFactory(import_batch__dataset=dataset) for _ in range(10)]
    ModelVersionFactory(
        dataset=dataset,
        status=ModelVersion.Status.READY,
        training_counts={"human_labels": 100},
        metrics={
            "quality": READY_QUALITY,
            "cross_validation": {"average_precision": 0.5},
        },
    )
    active = ModelVersionFactory(
        dataset=dataset,
        status=ModelVersion.Status.ACTIVE,
        training_counts={"human_labels": 200},
        hyperparameters={"audit": {"share": 0.1}},
        metrics={
            "cross_validation": {"average_precision": 0.7},
            "committee": {"sgan_share": 0.8125, "anomaly_share": 1.2},
            "quality": {
                "labels": 8,
                "frauds": 1,
                "frame_rows": 1000,
                "needed_labels": 12,
                "needed_frauds": 2,
            },
        },
    )
    LabelFactory(transaction=rows[0], annotator=bob, label_class=label_class("fraud"))
    LabelFactory(transaction=rows[1], annotator=bob, label_class=label_class("legit"))
    LabelFactory(transaction=rows[2], annotator=bob, label_class=label_class("legit"))
    with transaction.atomic():  # a reviewer turns rows[2] into a fraud
        transaction_review(
            reviewer=dora, transaction_id=rows[2].pk, label_class=label_class("fraud")
        )
    LabelFactory(transaction=rows[3], annotator=bob, label_class=label_class("legit"))
    LabelFactory(transaction=rows[3], annotator=alice, label_class=label_class("fraud"))
    old = LabelFactory(transaction=rows[4], annotator=bob, label_class=label_class("legit"))
    # An answer bob took back (undo): it counts nowhere.
    LabelFactory(
        transaction=rows[9], annotator=bob, status=Label.Status.SUPERSEDED, decision="manual"
    )
    Label.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=3))
    for row in rows[5:8]:
        PseudoLabelFactory(transaction=row, model_version=active)
    ReviewItem.objects.create(transaction=rows[3], reason="disagreement")
    return dataset


def test_counts_rates_and_the_learning_curve(board_data):
    board = dataset_dashboard(board_data)
    assert board.transactions == 10
    assert board.human_labeled == 5  # rows 0-4; row 3 is disputed
    assert board.frauds_found == 2  # row 0 by bob, row 2 by the reviewer
    assert board.pseudo_labeled == 3
    assert board.waiting_for_review == 1
    assert board.labels_last_hour == 5
    assert sum(bar[3] > 0 for bar in board.labels_per_hour.bars) == 2  # now, and 3 hours ago
    assert board.labels_per_hour.peak == 5
    names = [series.name for series in board.learning_curve.series]
    assert names == ["audit estimate (90% interval)", "on the labels the model chose (optimistic)"]
    audit, chosen = board.learning_curve.series
    assert len(audit.dots) == len(audit.intervals) == 1  # v2 has too few audit labels
    (_, top, bottom), (_, y, _) = audit.intervals[0], audit.dots[0]
    assert top < y < bottom  # the interval spans the estimate (SVG y grows downwards)
    assert "0.400 at 100 (0.250\N{EN DASH}0.600)" in audit.dots[0][2]
    assert len(chosen.dots) == 2
    assert [v.status for v in board.versions] == ["active", "ready"]


def test_the_page_shows_the_figures_and_exports_to_reviewers(client, board_data, bob, alice):
    client.force_login(bob)
    page = client.get("/").content.decode()
    assert '<strong data-count="frauds_found">2</strong>' in page
    assert '<strong data-count="waiting_for_review">1</strong>' in page
    assert "<polyline" in page and "audit estimate (90% interval)" in page
    assert 'class="interval"' in page
    # The older version's estimate with its interval; the active one says what it lacks.
    assert '<td class="num" data-audit-ap>0.400 (0.250\N{EN DASH}0.600)</td>' in page
    assert '<td class="num" data-audit-ap>needs 12 more audit labels</td>' in page
    assert (
        "Too few audit labels for an estimate: it needs about 12 more audit labels (about 120 "
        "labels at the 10% audit share)." in page
    )
    assert "On the labels the model chose for itself (optimistic)" in page
    # The active version's mix; it has no tree member.
    assert '<td class="num" data-mix>0.81 / 1.20 / \u2013</td>' in page
    assert '<td class="num" data-mix>\u2013</td>' in page  # the older version: no committee
    assert "Export labels" not in page  # exports are for reviewers
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "format=parquet" in page and "/api/docs/" in page


def test_one_dataset_at_a_time_with_a_picker_that_the_session_remembers(client, bob):
    for name, rows in (("older", 2), ("newer", 3)):
        TransactionFactory.create_batch(rows, import_batch__dataset__name=name)
    client.force_login(bob)

    def shown(page: str) -> str:
        return page.split("<h1>", 1)[1].split("</h1>", 1)[0]

    page = client.get("/").content.decode()
    assert shown(page) == "newer"  # the newest dataset first
    assert page.count("<h1>") == 1 and '<strong data-count="transactions">3</strong>' in page
    assert '<option value="older">older</option>' in page
    assert '<option value="newer" selected>newer</option>' in page
    page = client.get("/", {"dataset": "older"}).content.decode()
    assert shown(page) == "older" and '<strong data-count="transactions">2</strong>' in page
    assert shown(client.get("/").content.decode()) == "older"  # remembered
    assert client.get("/", {"dataset": "<script>"}).status_code == 404


def test_a_single_dataset_has_no_picker_and_no_dataset_a_welcome(client, bob):
    client.force_login(bob)
    assert "Welcome to fraudloop" in client.get("/").content.decode()
    TransactionFactory.create_batch(2, import_batch__dataset__name="only")
    page = client.get("/").content.decode()
    assert "<h1>only</h1>" in page and "dataset-picker" not in page


def test_counts_carry_thousands_separators(client, bob, monkeypatch):
    from labeler.pages import home

    dataset = DatasetFactory(name="big")
    board = home.dataset_dashboard(dataset)
    board.transactions, board.human_labeled = 1_234_567, 12_345
    monkeypatch.setattr("labeler.views.home.dataset_dashboard", lambda _: board)
    client.force_login(bob)
    page = client.get("/").content.decode()
    assert '<strong data-count="transactions">1,234,567</strong>' in page
    assert '<strong data-count="human_labeled">12,345</strong>' in page


def test_labels_per_hour_has_a_count_axis():
    from labeler.pages.charts import _count_ticks, bar_chart

    assert _count_ticks(0) == [0]
    assert _count_ticks(1) == [0, 1]
    assert _count_ticks(7) == [0, 5, 10]
    assert _count_ticks(130) == [0, 100, 200]
    assert _count_ticks(1800) == [0, 1000, 2000]
    chart = bar_chart([("10:00", 0), ("11:00", 7), ("12:00", 3)], every=1)
    assert [label for _, label in chart.y_ticks] == ["0", "5", "10"]
    (zero, _), (five, _), (ten, _) = chart.y_ticks
    assert zero == chart.base and ten < five < zero
    tallest = max(chart.bars, key=lambda bar: bar[3])
    assert tallest[4] == "11:00: 7 labels"
    assert tallest[1] == pytest.approx(zero - 0.7 * (zero - ten))
    assert all(bar[0] >= chart.left for bar in chart.bars)


def test_arrivals_per_hour_and_the_share_queued_today(client, bob):
    from labeler.models import ImportBatch, QueueEntry
    from tests.factories import ImportBatchFactory, queue_entry

    dataset = DatasetFactory(name="live")
    TransactionFactory(import_batch__dataset=dataset)  # the first file
    assert dataset_dashboard(dataset).arrivals is None  # nothing ever arrived: no section
    arrived = ImportBatchFactory(dataset=dataset, source=ImportBatch.Source.ARRIVALS, row_count=4)
    rows = [TransactionFactory(import_batch=arrived) for _ in range(4)]
    queue_entry(rows[0], priority=1.5, reason=QueueEntry.Reason.ARRIVAL)
    LabelFactory(transaction=rows[1], annotator=bob, queue_reason=QueueEntry.Reason.ARRIVAL)
    arrivals = dataset_dashboard(dataset).arrivals
    assert (arrivals.today, arrivals.queued_today, arrivals.queued_share) == (4, 2, "50%")
    assert sum(height > 0 for _, _, _, height, _ in arrivals.per_hour.bars) == 1
    assert arrivals.per_hour.bars[-1][4].endswith(": 4 arrivals")
    client.force_login(bob)
    page = client.get(f"/?dataset={dataset.name}").content.decode()
    assert "Arrivals per hour" in page and "queued for people on arrival" in page
