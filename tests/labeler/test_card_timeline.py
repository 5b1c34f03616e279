"""The card's transactions beside the item: which rows, in which order, and what is known of
each (a person's label, a chargeback with its date, the active version's pseudo-label)."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeler.models import LabelClass, ModelVersion
from labeler.pages.annotate import item_view
from labeler.pages.card_timeline import card_timeline
from tests.factories import (
    DatasetFactory,
    ImportBatchFactory,
    LabelFactory,
    ModelVersionFactory,
    PseudoLabelFactory,
    TransactionFactory,
    label_class,
    queue_entry,
)

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
HALF_DAY = 12 * 3600


@pytest.fixture
def card_rows():
    """Card c1 every 12 hours for 60 days (120 rows), card c2 interleaved."""
    dataset = DatasetFactory(name="raw", schema={"time": "datetime"})
    batch = ImportBatchFactory(dataset=dataset)
    rows = [
        TransactionFactory(
            import_batch=batch,
            time=START + i * HALF_DAY,
            amount=10 + i,
            card_key="c1",
            merchant_key=f"m{i % 3}",
        )
        for i in range(120)
    ]
    for i in range(5):
        TransactionFactory(import_batch=batch, time=START + i * HALF_DAY + 60, card_key="c2")
    return rows


def test_rows_around_the_current_one_newest_first_within_the_window(card_rows):
    current = card_rows[100]
    timeline = card_timeline(current, LabelClass.ordered())
    assert timeline.card == "c1"
    assert (timeline.before, timeline.after) == (40, 10)  # the limits, not the window, bind
    amounts = [row.amount for row in timeline.rows]
    assert amounts == [10 + i for i in range(110, 59, -1)]  # newest first, no other card
    assert [row.current for row in timeline.rows].index(True) == 10
    assert timeline.rows[10].when == "20 Apr 00:00"  # the configured zone (UTC in tests)
    assert timeline.rows[0].merchant == "m2"

    last = card_timeline(card_rows[-1], LabelClass.ordered())
    assert (last.before, last.after) == (40, 0)
    first = card_timeline(card_rows[0], LabelClass.ordered())
    assert (first.before, first.after) == (0, 10)


def test_the_window_bounds_a_sparse_card():
    dataset = DatasetFactory(name="sparse", schema={"time": "datetime"})
    batch = ImportBatchFactory(dataset=dataset)
    days = [0, 10, 45, 60, 89, 100]
    rows = [
        TransactionFactory(import_batch=batch, time=START + d * 86400, card_key="c9") for d in days
    ]
    timeline = card_timeline(rows[3], LabelClass.ordered())  # day 60: 30 days either side
    assert [row.transaction_id for row in timeline.rows] == [rows[4].pk, rows[3].pk, rows[2].pk]


def test_what_is_known_of_each_row(card_rows, bob):
    fraud, legit = label_class("fraud"), label_class("legit")
    current = card_rows[100]
    LabelFactory(transaction=card_rows[99], label_class=fraud, annotator=bob)
    LabelFactory(
        transaction=card_rows[98],
        label_class=fraud,
        decision="imported",
        known_at=datetime(2026, 5, 2, tzinfo=UTC),
    )
    LabelFactory(transaction=card_rows[97], label_class=legit, decision="imported")
    LabelFactory(transaction=card_rows[96], label_class=fraud, annotator=bob, status="superseded")
    active = ModelVersionFactory(dataset=current.dataset, status=ModelVersion.Status.ACTIVE)
    old = ModelVersionFactory(dataset=current.dataset, status=ModelVersion.Status.READY)
    PseudoLabelFactory(transaction=card_rows[95], label_class=legit, model_version=active)
    PseudoLabelFactory(transaction=card_rows[94], label_class=fraud, model_version=old)
    PseudoLabelFactory(transaction=card_rows[99], label_class=legit, model_version=active)

    timeline = card_timeline(current, LabelClass.ordered())
    known = {row.transaction_id: row.known for row in timeline.rows}
    assert [(text, title) for text, _, title in known[card_rows[99].pk]] == [
        ("Fraud", "a person's label")  # a person's label hides the pseudo-label
    ]
    assert known[card_rows[98].pk][0][::2] == ("Fraud", "chargeback, known 2 May")
    assert known[card_rows[97].pk][0][::2] == ("Legitimate", "imported as trusted")
    assert known[card_rows[96].pk] == []  # undone
    assert known[card_rows[95].pk][0][0] == "pseudo: Legitimate"
    assert f"v{active.pk}'s pseudo-label at 0.99" == known[card_rows[95].pk][0][2]
    assert known[card_rows[94].pk] == []  # an older version's pseudo-label
    assert timeline.frauds_known == 2


def test_no_card_column_no_timeline_and_the_card_still_renders(client, bob):
    row = TransactionFactory()  # the reference layout: no card
    assert card_timeline(row, LabelClass.ordered()) is None
    view = item_view(queue_entry(row, priority=1.0, reason="cold_start"), LabelClass.ordered())
    assert view.timeline is None
    client.force_login(bob)
    page = client.get("/annotate/").content.decode()
    assert f"Transaction {row.external_id}" in page and "the card's transactions" not in page


def test_the_page_shows_the_card_and_a_bounded_number_of_statements(card_rows, client, bob):
    current = card_rows[100]
    queue_entry(current, priority=1.0, reason="likely_fraud")
    card_timeline(current, LabelClass.ordered())  # the active version, then from memory
    with CaptureQueriesContext(connection) as queries:
        card_timeline(current, LabelClass.ordered())
    assert len(queries) <= 4  # before, after, labels, pseudo-labels
    client.force_login(bob)
    page = client.get("/annotate/").content.decode()
    assert "Card c1" in page and "40 transactions before this one, 10 after" in page
    assert f'class="current" aria-current="true" data-timeline-row="{current.pk}"' in page


def test_the_review_page_shows_the_card_too(card_rows, client, dora):
    from labeler.services.review_rules import review_item_open

    review_item_open(transaction_id=card_rows[100].pk, reason="disagreement")
    client.force_login(dora)
    page = client.get("/review/").content.decode()
    assert "Card c1" in page and "20 Apr 2026, 00:00:00 UTC" in page
