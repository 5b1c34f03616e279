"""A seeded simulator of raw card transactions as an issuer exports them: cards, terminals,
dates, amounts, merchant categories, countries, entry modes and a description, with frauds whose
labels become known days later (chargebacks).

Written for fraudloop after the simulation of the ULB fraud-detection handbook (Le Borgne et
al., "Reproducible Machine Learning for Credit Card Fraud Detection"): customers and terminals
on a 100 x 100 map, each customer spending at terminals within a radius, a Poisson number of
transactions a day around midday, amounts around the customer's own mean; and its three fraud
scenarios: (1) any amount above a threshold, (2) terminals compromised for some weeks (every
transaction there is fraud), (3) cards compromised for some days (a share of their transactions
become large, mostly card-not-present, sometimes abroad). Categories, countries and entry modes
follow the terminal; scenario 3 changes the entry mode and the country, so those columns carry
signal only a model that reads them can use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SECONDS_PER_DAY = 86_400
# (merchant category code, name in descriptions, weight among terminals, card-not-present)
CATEGORIES = [
    (5411, "GROCERY", 0.30, False),
    (5812, "RESTAURANT", 0.18, False),
    (5541, "FUEL", 0.10, False),
    (5912, "PHARMACY", 0.08, False),
    (5651, "CLOTHING", 0.08, False),
    (5732, "ELECTRONICS", 0.05, False),
    (4111, "TRANSIT", 0.06, False),
    (5999, "SHOP", 0.07, False),
    (5968, "ONLINE SUBSCR", 0.04, True),
    (4829, "MONEY TRANSFER", 0.02, True),
    (7995, "BETTING", 0.02, True),
]
# (country, currency, weight among terminals)
COUNTRIES = [
    ("BE", "EUR", 0.82),
    ("NL", "EUR", 0.05),
    ("FR", "EUR", 0.05),
    ("DE", "EUR", 0.03),
    ("LU", "EUR", 0.02),
    ("GB", "GBP", 0.015),
    ("US", "USD", 0.01),
    ("RO", "RON", 0.005),
]
FOREIGN_FRAUD_COUNTRIES = [
    ("US", "USD"),
    ("GB", "GBP"),
    ("RO", "RON"),
    ("NG", "NGN"),
    ("BR", "BRL"),
]
CITIES = ["BRUXELLES", "ANTWERPEN", "GENT", "LIEGE", "NAMUR", "LEUVEN", "BRUGGE", "MONS"]


@dataclass
class RawSimulationConfig:
    customers: int = 5_000
    terminals: int = 10_000
    days: int = 120
    start: str = "2026-01-05"  # the first day (a Monday), UTC
    radius: float = 5.0  # a customer spends at terminals within this distance
    # Scenario 1: every transaction above this amount is fraud.
    large_amount: float = 220.0
    # Scenario 2: terminals compromised each day (per 1,000 terminals), and for how long.
    terminals_compromised_per_thousand: float = 0.1
    terminal_compromise_days: int = 28
    # Scenario 3: cards compromised each day (per 1,000 cards), for how many days, the share
    # of their transactions that are fraud and how much larger those are.
    cards_compromised_per_thousand: float = 0.4
    card_compromise_days: int = 14
    card_fraud_share: float = 1 / 3
    card_amount_factor: float = 5.0
    card_not_present_share: float = 0.7  # of scenario-3 frauds: e-commerce
    abroad_share: float = 0.3  # of scenario-3 frauds: at a foreign terminal's country
    # A fraud's label becomes known this many days after it, uniformly (chargebacks).
    label_delay_days: tuple[float, float] = (2.0, 30.0)
    seed: int = 0


@dataclass
class RawTransactions:
    frame: pd.DataFrame  # the export, in time order: what an issuer's file holds
    scenario: np.ndarray  # 0 legitimate, else the fraud scenario (1-3): for benchmarks only
    labels_known_at: pd.Series  # when each fraud's label became known (NaT: never)

    def chargebacks(self) -> pd.DataFrame:
        """The delayed labels: (transaction id, class, date known) of every fraud."""
        fraud = self.frame["is_fraud"].to_numpy() == 1
        return pd.DataFrame(
            {
                "transaction_id": self.frame["transaction_id"].to_numpy()[fraud],
                "class": "fraud",
                "known_at": self.labels_known_at[fraud].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )


def _nearby_terminals(customer_xy, terminal_xy, radius):
    """For each customer, the terminals within `radius`: (offsets, flat indices)."""
    counts, chunks = [], []
    for start in range(0, len(customer_xy), 500):
        block = customer_xy[start : start + 500]
        distance = np.sqrt(((block[:, None, :] - terminal_xy[None, :, :]) ** 2).sum(axis=2))
        near = distance < radius
        counts.append(near.sum(axis=1))
        chunks.append(np.nonzero(near)[1])
    counts = np.concatenate(counts)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return offsets, np.concatenate(chunks), counts


def _compromised(rng, count: int, days: int, per_thousand: float, lasting: int) -> np.ndarray:
    """(count, days): which terminals or cards are compromised on which day; each day a
    Poisson number of them (per_thousand per 1,000) is compromised for `lasting` days."""
    compromised = np.zeros((count, days), bool)
    for first in range(days):
        for chosen in rng.choice(count, rng.poisson(per_thousand * count / 1000)):
            compromised[chosen, first : first + lasting] = True
    return compromised


def raw_transactions_simulate(config: RawSimulationConfig | None = None) -> RawTransactions:
    config = config or RawSimulationConfig()
    if config.customers < 1 or config.terminals < 1 or config.days < 1:
        raise ValueError("need at least one customer, one terminal and one day")
    rng = np.random.default_rng(config.seed)

    # Customers: where they live, how much and how often they spend.
    customer_xy = rng.uniform(0, 100, (config.customers, 2))
    mean_amount = rng.uniform(5, 100, config.customers)
    sd_amount = mean_amount / 2
    per_day = rng.uniform(0, 4, config.customers)
    terminal_xy = rng.uniform(0, 100, (config.terminals, 2))
    offsets, nearby, reachable = _nearby_terminals(customer_xy, terminal_xy, config.radius)

    # Terminals: category, country and city.
    weights = np.asarray([c[2] for c in CATEGORIES])
    category = rng.choice(len(CATEGORIES), config.terminals, p=weights / weights.sum())
    weights = np.asarray([c[2] for c in COUNTRIES])
    country = rng.choice(len(COUNTRIES), config.terminals, p=weights / weights.sum())
    city = rng.integers(0, len(CITIES), config.terminals)

    # Transactions: a Poisson count per customer and day (none for a customer with no
    # terminal in reach), each around midday.
    counts = rng.poisson(per_day[:, None], (config.customers, config.days))
    counts[reachable == 0] = 0
    customer = np.repeat(np.repeat(np.arange(config.customers), config.days), counts.ravel())
    day = np.repeat(np.tile(np.arange(config.days), config.customers), counts.ravel())
    rows = len(customer)
    seconds = np.clip(rng.normal(SECONDS_PER_DAY / 2, 20_000, rows), 0, SECONDS_PER_DAY - 1)
    amount = rng.normal(mean_amount[customer], sd_amount[customer])
    negative = amount < 0
    amount[negative] = rng.uniform(0, 2 * mean_amount[customer[negative]])
    pick = np.floor(rng.random(rows) * reachable[customer]).astype(np.int64)
    terminal = nearby[offsets[customer] + pick]

    scenario = np.zeros(rows, np.int64)
    # Scenario 2: compromised terminals.
    compromised = _compromised(
        rng,
        config.terminals,
        config.days,
        config.terminals_compromised_per_thousand,
        config.terminal_compromise_days,
    )
    scenario[compromised[terminal, day]] = 2
    # Scenario 3: compromised cards.
    stolen = _compromised(
        rng,
        config.customers,
        config.days,
        config.cards_compromised_per_thousand,
        config.card_compromise_days,
    )
    card_fraud = stolen[customer, day] & (rng.random(rows) < config.card_fraud_share)
    card_fraud &= scenario == 0
    amount[card_fraud] *= config.card_amount_factor
    scenario[card_fraud] = 3
    # Scenario 1: large amounts (after scenario 3, whose amounts it may push over).
    scenario[(scenario == 0) & (amount > config.large_amount)] = 1
    amount = np.round(amount, 2)

    # What the export says about each transaction: the terminal's category, country and
    # currency, an entry mode, and a description; scenario-3 frauds are mostly online and
    # sometimes abroad.
    category_code = np.asarray([c[0] for c in CATEGORIES])[category[terminal]]
    online = np.asarray([c[3] for c in CATEGORIES])[category[terminal]]
    entry_mode = np.where(
        online,
        "ecommerce",
        rng.choice(["chip", "contactless", "magstripe"], rows, p=[0.5, 0.46, 0.04]),
    ).astype(object)
    country_code = np.asarray([c[0] for c in COUNTRIES], dtype=object)[country[terminal]]
    currency = np.asarray([c[1] for c in COUNTRIES], dtype=object)[country[terminal]]
    card_not_present = card_fraud & (rng.random(rows) < config.card_not_present_share)
    entry_mode[card_not_present] = "ecommerce"
    abroad = np.flatnonzero(card_fraud & (rng.random(rows) < config.abroad_share))
    where = rng.integers(0, len(FOREIGN_FRAUD_COUNTRIES), len(abroad))
    country_code[abroad] = np.asarray([c[0] for c in FOREIGN_FRAUD_COUNTRIES], object)[where]
    currency[abroad] = np.asarray([c[1] for c in FOREIGN_FRAUD_COUNTRIES], object)[where]
    names = np.asarray([c[1] for c in CATEGORIES], dtype=object)[category[terminal]]
    description = (
        names
        + " "
        + pd.Series(terminal).map("{:05d}".format).to_numpy(object)
        + " "
        + np.asarray(CITIES, dtype=object)[city[terminal]]
    )
    description[abroad] = names[abroad] + " ONLINE " + country_code[abroad]

    start = pd.Timestamp(config.start, tz="UTC")
    offset_seconds = day * SECONDS_PER_DAY + np.floor(seconds)
    order = np.argsort(offset_seconds, kind="stable")
    timestamp = start + pd.to_timedelta(offset_seconds[order], unit="s")
    fraud = scenario[order] > 0
    delay = rng.uniform(*config.label_delay_days, rows)[order] * SECONDS_PER_DAY
    known_at = pd.Series(
        np.where(fraud, timestamp + pd.to_timedelta(delay, unit="s"), pd.NaT),
        dtype="datetime64[ns, UTC]",
    )
    frame = pd.DataFrame(
        {
            "transaction_id": [f"tx{index:08d}" for index in range(1, rows + 1)],
            "timestamp": timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "card_id": pd.Series(customer[order]).map("card{:06d}".format),
            "merchant_id": pd.Series(terminal[order]).map("term{:06d}".format),
            "amount": amount[order],
            "currency": currency[order],
            "mcc": category_code[order],
            "country": country_code[order],
            "entry_mode": entry_mode[order],
            "description": description[order],
            "is_fraud": fraud.astype(np.int64),
        }
    )
    return RawTransactions(frame=frame, scenario=scenario[order], labels_known_at=known_at)
