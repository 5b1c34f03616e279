"""Training's read of a dataset in chunks of ids: the same arrays as a read of every row at once,
entity keys coded as the whole list would code them, and rows that arrive while it reads."""

import numpy as np
import pytest
from django.db.models.query import QuerySet

from labeler.models import Transaction
from labeler.services.training.derived import entity_codes
from labeler.services.training_rows import feature_rows_read

pytestmark = pytest.mark.django_db


def whole(dataset):
    """Every row at once, as a list of tuples (how training read before)."""
    rows = list(
        dataset.transactions.order_by("id").values_list(
            "id", "time", "amount", "score", "features", "card_key", "merchant_key"
        )
    )
    ids, times, amounts, scores, blobs, cards, merchants = zip(*rows, strict=True)
    width = len(dataset.feature_names)
    features = np.frombuffer(b"".join(blobs), "<f4").reshape(len(rows), width)
    return ids, times, amounts, scores, features, list(cards), list(merchants)


def test_chunks_read_what_one_read_of_every_row_gives(raw_dataset):
    # Some rows without a card or a score: each such row gets a card code of its own.
    keyless = list(raw_dataset.transactions.order_by("id").values_list("id", flat=True)[5:9])
    Transaction.objects.filter(pk__in=keyless).update(card_key=None, score=0.25)
    ids, times, amounts, scores, features, cards, merchants = whole(raw_dataset)
    width = len(raw_dataset.feature_names)
    rows = feature_rows_read(raw_dataset.transactions.all(), width, chunk=37)
    np.testing.assert_array_equal(rows.ids, ids)
    np.testing.assert_array_equal(rows.times, times)
    np.testing.assert_array_equal(rows.amounts, amounts)
    np.testing.assert_array_equal(rows.scores, np.asarray(scores, np.float64))
    assert np.isnan(rows.scores).sum() == len(ids) - len(keyless)
    np.testing.assert_array_equal(rows.features, features)
    assert rows.features.dtype == np.float32
    np.testing.assert_array_equal(rows.entities["card"], entity_codes(cards))
    np.testing.assert_array_equal(rows.entities["merchant"], entity_codes(merchants))
    codes = rows.entities["card"][np.searchsorted(rows.ids, keyless)]
    assert len(set(codes.tolist())) == len(keyless)
    assert not np.isin(codes, rows.entities["card"][~np.isin(rows.ids, keyless)]).any()
    # One chunk or many: the same arrays.
    single = feature_rows_read(raw_dataset.transactions.all(), width, chunk=10**6)
    np.testing.assert_array_equal(single.features, rows.features)
    np.testing.assert_array_equal(single.entities["card"], rows.entities["card"])


def test_rows_committed_after_the_count_are_read_and_later_arrivals_wait(
    raw_dataset,
    monkeypatch,
):
    width = len(raw_dataset.feature_names)
    everything = feature_rows_read(raw_dataset.transactions.all(), width, chunk=50)
    # A row that commits between the count and the read (an earlier id a slower transaction
    # held): the arrays grow to take it.
    monkeypatch.setattr(QuerySet, "count", lambda self: 10)
    grown = feature_rows_read(raw_dataset.transactions.all(), width, chunk=50)
    np.testing.assert_array_equal(grown.ids, everything.ids)
    np.testing.assert_array_equal(grown.features, everything.features)
    np.testing.assert_array_equal(grown.entities["merchant"], everything.entities["merchant"])
    monkeypatch.undo()
    # Rows with an id past the largest at the start are left to the next run.
    original = QuerySet.values_list
    newest = Transaction.objects.filter(dataset=raw_dataset).order_by("-id").first()

    def arriving(self, *fields, **options):
        if not Transaction.objects.filter(pk__gt=newest.pk).exists():
            Transaction.objects.create(
                dataset=raw_dataset,
                import_batch=newest.import_batch,
                external_id="arrived while reading",
                time=newest.time + 1,
                amount=1.0,
                features=newest.features,
                imported_at=newest.imported_at,
            )
        return original(self, *fields, **options)

    monkeypatch.setattr(QuerySet, "values_list", arriving)
    read = feature_rows_read(raw_dataset.transactions.all(), width, chunk=50)
    assert Transaction.objects.filter(pk__gt=newest.pk).count() == 1
    np.testing.assert_array_equal(read.ids, everything.ids)
