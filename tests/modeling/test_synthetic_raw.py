"""The raw-transaction simulator: an issuer's export with cards, terminals and dates, seeded,
with the three fraud scenarios at their configured rates and labels known days later."""

import numpy as np
import pandas as pd
import pytest

from modeling.synthetic_raw import RawSimulationConfig, raw_transactions_simulate

SMALL = RawSimulationConfig(customers=400, terminals=800, days=40, seed=3)


@pytest.fixture(scope="module")
def simulated():
    return raw_transactions_simulate(SMALL)


def test_the_export_has_an_issuers_columns_in_time_order(simulated):
    frame = simulated.frame
    assert list(frame.columns) == [
        "transaction_id",
        "timestamp",
        "card_id",
        "merchant_id",
        "amount",
        "currency",
        "mcc",
        "country",
        "entry_mode",
        "description",
        "is_fraud",
    ]
    assert frame["transaction_id"].is_unique
    times = pd.to_datetime(frame["timestamp"], utc=True)
    assert times.is_monotonic_increasing
    assert times.min() >= pd.Timestamp(SMALL.start, tz="UTC")
    assert times.max() < pd.Timestamp(SMALL.start, tz="UTC") + pd.Timedelta(days=SMALL.days)
    assert (frame["amount"] >= 0).all()
    assert frame["card_id"].nunique() > 300 and frame["merchant_id"].nunique() > 300
    assert set(frame["entry_mode"]) <= {"chip", "contactless", "magstripe", "ecommerce"}


def test_the_same_seed_gives_the_same_file_and_another_seed_another(simulated):
    again = raw_transactions_simulate(SMALL)
    pd.testing.assert_frame_equal(again.frame, simulated.frame)
    other = raw_transactions_simulate(RawSimulationConfig(**{**vars(SMALL), "seed": 4}))
    assert not other.frame["amount"].equals(simulated.frame["amount"])


def test_each_fraud_scenario_happens_as_configured(simulated):
    frame, scenario = simulated.frame, simulated.scenario
    fraud = frame["is_fraud"].to_numpy() == 1
    np.testing.assert_array_equal(fraud, scenario > 0)
    # Scenario 1: every legitimate amount stays at or below the threshold.
    assert (frame["amount"][scenario == 0] <= SMALL.large_amount).all()
    assert (frame["amount"][scenario == 1] > SMALL.large_amount).all()
    # Scenario 2: a compromised terminal's transactions are all fraud while it lasts.
    times = pd.to_datetime(frame["timestamp"], utc=True)
    terminals = frame.loc[scenario == 2, "merchant_id"].unique()
    assert len(terminals) >= 1
    for terminal in terminals:
        at = (frame["merchant_id"] == terminal).to_numpy()
        hit = times[at & (scenario == 2)]
        assert hit.max() - hit.min() < pd.Timedelta(days=SMALL.terminal_compromise_days)
        lasting = ((times >= hit.min()) & (times <= hit.max())).to_numpy()
        assert (scenario[at & lasting] > 0).all()
    # Scenario 3: a share of a compromised card's transactions, mostly online.
    online = frame.loc[scenario == 3, "entry_mode"].eq("ecommerce").mean()
    assert online > 0.6 > frame.loc[scenario == 0, "entry_mode"].eq("ecommerce").mean()
    for kind in (1, 2, 3):
        assert (scenario == kind).sum() > 10, kind


def test_the_compromises_happen_at_their_configured_rates():
    config = RawSimulationConfig(customers=3000, terminals=3000, days=60, seed=5)
    scenario = raw_transactions_simulate(config).scenario

    def expected(per_thousand, lasting):  # the share of days compromised, cut at the end
        return per_thousand / 1000 * (lasting - lasting**2 / (2 * config.days))

    terminals = expected(config.terminals_compromised_per_thousand, 28)
    cards = expected(config.cards_compromised_per_thousand, 14) * config.card_fraud_share
    assert terminals / 2 < np.mean(scenario == 2) < terminals * 2
    assert cards / 2 < np.mean(scenario == 3) < cards * 2


def test_fraud_labels_become_known_days_later(simulated):
    frame = simulated.frame
    cases = simulated.chargebacks()
    assert set(cases["transaction_id"]) == set(frame.loc[frame["is_fraud"] == 1, "transaction_id"])
    assert set(cases["class"]) == {"fraud"}
    happened = pd.to_datetime(
        frame.set_index("transaction_id").loc[cases["transaction_id"], "timestamp"], utc=True
    ).to_numpy()
    known = pd.to_datetime(cases["known_at"], utc=True).to_numpy()
    delay_days = (known - happened) / np.timedelta64(1, "D")
    low, high = SMALL.label_delay_days
    assert delay_days.min() >= low - 1e-6 and delay_days.max() <= high + 1e-6


def test_a_simulation_with_nothing_to_simulate_is_refused():
    with pytest.raises(ValueError, match="at least one customer"):
        raw_transactions_simulate(RawSimulationConfig(customers=0))
