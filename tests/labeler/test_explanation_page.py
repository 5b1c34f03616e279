"""The annotate card says why the version scores the item so, one line per reason."""

import pytest

from labeler.models import ModelVersion, QueueEntry
from labeler.pages.annotate import reasons_read
from tests.factories import ModelVersionFactory, TransactionFactory, queue_entry

pytestmark = pytest.mark.django_db

EXPLANATION = [
    {"name": "card_amount_ratio_7d", "log_odds": 1.82, "deviation": 6.04, "anomaly": False},
    {
        "name": "unusual overall (anomaly detectors)",
        "log_odds": 0.9,
        "deviation": 0.998,
        "anomaly": True,
    },
    {"name": "hour of day", "log_odds": -0.69, "deviation": -1.5, "anomaly": False},
]


def test_reasons_in_words():
    assert reasons_read(EXPLANATION) == [
        (
            "card_amount_ratio_7d",
            "multiplies the fraud odds by 6.2",
            "6.0 interquartile ranges above typical",
        ),
        (
            "unusual overall (anomaly detectors)",
            "multiplies the fraud odds by 2.5",
            "more unusual than 99.8% of transactions",
        ),
        ("hour of day", "divides the fraud odds by 2.0", "1.5 interquartile ranges below typical"),
    ]
    assert reasons_read(None) == []


def test_the_card_shows_the_reasons_and_none_without_them(client, bob):
    row = TransactionFactory()
    version = ModelVersionFactory(dataset=row.dataset, status=ModelVersion.Status.ACTIVE)
    entry = queue_entry(row, priority=1.0, reason="likely_fraud")
    QueueEntry.objects.filter(pk=entry.pk).update(model_version=version, explanation=EXPLANATION)
    client.force_login(bob)
    page = client.get("/annotate/").content.decode()
    assert f"Why v{version.pk} thinks so" in page
    assert "<strong>card_amount_ratio_7d</strong> multiplies the fraud odds by 6.2" in page
    QueueEntry.objects.filter(pk=entry.pk).update(explanation=None)
    assert "thinks so" not in client.get("/annotate/").content.decode()


def test_a_score_reads_as_its_rank_among_the_versions_scores():
    from labeler.pages.annotate import score_rank

    version = ModelVersion(metrics={"score_quantiles": [i / 1000 for i in range(1001)]})
    assert score_rank(0.995, version) == "top 0.6%"
    assert score_rank(1.0, version) == "top 0.1%"
    assert score_rank(0.5, version) == "top 50%"
    assert score_rank(0.0, version) == "top 100%"
    assert score_rank(0.9, ModelVersion(metrics={})) == ""
    assert score_rank(None, version) == ""


def test_reasons_replace_the_profile_chart(client, bob):
    row = TransactionFactory()
    version = ModelVersionFactory(
        dataset=row.dataset,
        status=ModelVersion.Status.ACTIVE,
        metrics={"profiles": {"center": [0, 0, 0], "scale": [1, 1, 1], "classes": {}}},
    )
    entry = queue_entry(row, priority=1.0, reason="likely_fraud")
    QueueEntry.objects.filter(pk=entry.pk).update(model_version=version)
    client.force_login(bob)
    assert "<polyline" in client.get("/annotate/").content.decode()  # no reasons: the chart
    QueueEntry.objects.filter(pk=entry.pk).update(explanation=EXPLANATION)
    page = client.get("/annotate/").content.decode()
    assert "thinks so" in page and "<polyline" not in page


def test_the_nearest_labeled_transactions_by_external_id(client, bob):
    rows = [TransactionFactory() for _ in range(3)]
    version = ModelVersionFactory(dataset=rows[0].dataset, status=ModelVersion.Status.ACTIVE)
    entry = queue_entry(rows[0], priority=1.0, reason="likely_fraud")
    explanation = {
        "reasons": EXPLANATION[:1],
        "nearest": [[rows[2].pk, "fraud"], [rows[1].pk, "legit"], [999_999, "fraud"]],
    }
    QueueEntry.objects.filter(pk=entry.pk).update(model_version=version, explanation=explanation)
    client.force_login(bob)
    page = client.get("/annotate/").content.decode()
    assert "Nearest labeled by people:" in page
    assert f"{rows[2].external_id}: Fraud</span>" in page
    assert f"{rows[1].external_id}: Legitimate</span>" in page  # a deleted one is left out
