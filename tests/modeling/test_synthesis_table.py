"""The table encoder: numeric columns round-trip inside their real range at the file's own
decimals, categories round-trip, and what cannot be generated is refused by name."""

import numpy as np
import pandas as pd
import pytest

from modeling.synthesis.table import MAX_CATEGORIES, TableEncoder, TableError


@pytest.fixture
def table(rng):
    rows = 3000
    return pd.DataFrame(
        {
            "Time": np.sort(rng.integers(0, 172_800, rows)),
            "Amount": np.round(rng.lognormal(3.0, 1.5, rows), 2),
            "zero_heavy": np.where(rng.random(rows) < 0.4, 0.0, rng.normal(5.0, 1.0, rows)),
            "country": rng.choice(["BE", "FR", "NL"], rows, p=[0.8, 0.15, 0.05]),
        }
    )


def test_round_trip_keeps_values_ranges_and_decimals(table, rng):
    encoder = TableEncoder.fit(table, categorical=["country"])
    matrix = encoder.encode(table)
    assert matrix.shape == (len(table), 3 + 3)
    assert np.isfinite(matrix).all()
    back = encoder.decode(matrix, rng=rng)
    assert list(back.columns) == list(table.columns)
    assert (back["country"] == table["country"]).all()
    assert (back["Time"] == np.round(back["Time"])).all()  # integers stay integers
    assert np.allclose(back["Amount"], np.round(back["Amount"], 2))
    # 1,001 quantiles: values come back within the gap between two of them
    relative = np.abs(back["Amount"] - table["Amount"]) / table["Amount"].max()
    assert relative.max() < 0.01
    # a point mass (40% zeros) comes back as exactly zero
    assert (back["zero_heavy"][table["zero_heavy"] == 0] == 0).all()


def test_decoded_values_never_leave_the_real_range(table, rng):
    encoder = TableEncoder.fit(table, categorical=["country"])
    wild = rng.normal(0.0, 10.0, (2000, encoder.width)).astype(np.float32)
    decoded = encoder.decode(wild, rng=rng)
    for name in ("Time", "Amount", "zero_heavy"):
        assert decoded[name].min() >= table[name].min()
        assert decoded[name].max() <= table[name].max()
    assert set(decoded["country"]) <= {"BE", "FR", "NL"}


def test_categories_are_drawn_from_probabilities(table):
    encoder = TableEncoder.fit(table[["country"]], categorical=["country"])
    probabilities = np.tile([0.2, 0.5, 0.3], (20_000, 1)).astype(np.float32)
    drawn = encoder.decode(probabilities, rng=np.random.default_rng(1))["country"]
    shares = drawn.value_counts(normalize=True)
    assert shares.to_dict() == pytest.approx({"BE": 0.2, "FR": 0.5, "NL": 0.3}, abs=0.015)


def test_state_round_trip(table, rng):
    encoder = TableEncoder.fit(table, categorical=["country"])
    again = TableEncoder.from_state(encoder.to_state())
    assert np.array_equal(again.encode(table), encoder.encode(table))
    assert again.layout() == encoder.layout() == [("numeric", 1)] * 3 + [("categorical", 3)]


@pytest.mark.parametrize(
    ("frame", "categorical", "message"),
    [
        (pd.DataFrame({"a": [1.0, None]}), [], "column 'a' has missing values"),
        (pd.DataFrame({"a": ["x", "y"]}), [], "column 'a' is not numeric"),
        (
            pd.DataFrame({"card": [f"c{i}" for i in range(MAX_CATEGORIES + 1)]}),
            ["card"],
            "an identifier cannot be generated",
        ),
        (pd.DataFrame({"a": []}), [], "no rows"),
    ],
)
def test_refuses_what_it_cannot_generate(frame, categorical, message):
    with pytest.raises(TableError, match=message):
        TableEncoder.fit(frame, categorical=categorical)


def test_unknown_category_is_named(table):
    encoder = TableEncoder.fit(table, categorical=["country"])
    strange = table.head(3).assign(country=["BE", "XX", "FR"])
    with pytest.raises(TableError, match="'XX' is not among its categories"):
        encoder.encode(strange)
