"""Per-entity derived features: windows by hand on a tiny history, no leak of a label given
later, the same features whatever the rows' order, and the calendar."""

import numpy as np
import pytest

from modeling.entity_features import EntityFeatureConfig, entity_features

DAY = 86_400.0
MONDAY = 1_767_571_200.0  # 2026-01-05 00:00 UTC


def features(times, amount, cards, merchants=None, known=None, **config):
    entities = {"card": np.asarray(cards)}
    if merchants is not None:
        entities["merchant"] = np.asarray(merchants)
    values, names = entity_features(
        times=np.asarray(times, float),
        amount=np.asarray(amount, float),
        entities=entities,
        fraud_known_at=None if known is None else np.asarray(known, float),
        config=EntityFeatureConfig(
            windows_days=config.get("windows", (1.0, 7.0)),
            risk_delay_days=config.get("delay", 7.0),
            entities=tuple(entities),
            risk_entities=("merchant",) if merchants is not None else (),
        ),
    )
    return {name: values[:, i] for i, name in enumerate(names)}


def test_windows_count_and_average_the_cards_own_history():
    # Card 0 spends 10, 20, then 300 within a day; card 1 spends 5 a week before.
    times = [MONDAY, MONDAY + 3600, MONDAY + 7200, MONDAY - 6 * DAY]
    got = features(times, [10, 20, 300, 5], [0, 0, 0, 1])
    np.testing.assert_array_equal(got["card_count_1d"], [1, 2, 3, 1])
    np.testing.assert_allclose(got["card_mean_amount_1d"], [10, 15, 110, 5], rtol=1e-6)
    assert got["card_amount_deviation_1d"][2] > 1.0  # 300 against its card's 10 and 20
    np.testing.assert_allclose(got["card_seconds_since_previous"][:3], [7 * DAY, 3600, 3600])


def test_a_window_ends_at_its_length():
    times = [MONDAY, MONDAY + DAY - 1, MONDAY + DAY, MONDAY + 8 * DAY]
    got = features(times, [1, 1, 1, 1], [0, 0, 0, 0])
    np.testing.assert_array_equal(got["card_count_1d"], [1, 2, 2, 1])
    np.testing.assert_array_equal(got["card_count_7d"], [1, 2, 3, 1])


def test_merchant_risk_counts_only_frauds_known_before_time_minus_delay():
    """A fraud reported on day 2 counts for a transaction on day 10 (known 8 days before,
    more than the 7-day delay), not for one on day 8 (known 6 days before): a label given after
    a transaction never reaches that transaction's features."""
    days = np.asarray([0, 1, 2, 8, 10], float)
    times = MONDAY + days * DAY
    known = [np.nan, MONDAY + 2 * DAY, np.nan, np.nan, np.nan]  # row 1's fraud, reported day 2
    got = features(times, [1] * 5, [0, 1, 2, 3, 4], merchants=[7] * 5, known=known)
    risk = got["merchant_risk_7d"]
    assert risk[3] == 0.0  # day 8: the window is [day -6, day 1): the report is not in it
    assert risk[4] > 0.0  # day 10: [day -4, day 3) holds day 2's report and 3 transactions
    np.testing.assert_allclose(risk[4], 1 / 3)
    # The same history with the report planted later than day 10 changes nothing before it.
    late = [np.nan, MONDAY + 11 * DAY, np.nan, np.nan, np.nan]
    later = features(times, [1] * 5, [0, 1, 2, 3, 4], merchants=[7] * 5, known=late)
    np.testing.assert_array_equal(later["merchant_risk_7d"], 0.0)


def test_rows_in_any_order_get_the_same_features():
    rng = np.random.default_rng(0)
    count = 2000
    times = MONDAY + np.sort(rng.uniform(0, 40 * DAY, count))
    amount = rng.lognormal(3, 1, count)
    cards, merchants = rng.integers(0, 50, count), rng.integers(0, 30, count)
    known = np.where(rng.random(count) < 0.05, times + 3 * DAY, np.nan)
    first = features(times, amount, cards, merchants, known)
    shuffle = rng.permutation(count)
    second = features(
        times[shuffle], amount[shuffle], cards[shuffle], merchants[shuffle], known[shuffle]
    )
    for name, values in first.items():
        np.testing.assert_array_equal(second[name], values[shuffle], err_msg=name)


def test_calendar_features():
    saturday_night = MONDAY + 5 * DAY + 2 * 3600
    tuesday_noon = MONDAY + DAY + 12 * 3600
    got = features([saturday_night, tuesday_noon], [1, 1], [0, 1])
    np.testing.assert_array_equal(got["weekend"], [1, 0])
    np.testing.assert_array_equal(got["night"], [1, 0])
    np.testing.assert_allclose(got["hour_cos"][1], -1.0, atol=1e-6)


@pytest.mark.parametrize("count", [0, 1])
def test_empty_and_single_histories(count):
    got = features([MONDAY] * count, [5.0] * count, [0] * count, [0] * count, [np.nan] * count)
    assert all(len(values) == count for values in got.values())
