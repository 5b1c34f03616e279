"""A table's columns as the generators see them, and back: numeric columns through their own
quantiles to a standard normal (so a heavy-tailed amount and a uniform time both look Gaussian to
a network, and every decoded value lies in the column's real range, rounded as the file writes
it), categorical columns one-hot."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

QUANTILE_LEVELS = np.linspace(0.0, 1.0, 1001)
NORMAL_LIMIT = 5.0  # |z| beyond this is clipped: the 1001 quantiles cannot resolve it anyway
MAX_CATEGORIES = 200  # a column with more distinct values is an identifier, not a category


class TableError(ValueError):
    """A table the generators cannot take; the message names the column."""


@dataclass
class NumericColumn:
    name: str
    quantiles: np.ndarray  # the column's values at QUANTILE_LEVELS
    decimals: int  # as many as the file writes (at most 6)

    @property
    def width(self) -> int:
        return 1

    def encode(self, values: np.ndarray) -> np.ndarray:
        # Ties (an amount of exactly 0, say) share a run of equal quantiles: interpolating from
        # both ends and taking the mean puts them in the middle of the run, not at one end.
        from_right = np.interp(values, self.quantiles, QUANTILE_LEVELS)
        from_left = 1.0 - np.interp(-values, -self.quantiles[::-1], QUANTILE_LEVELS)
        levels = 0.5 * (from_right + from_left)
        clipped = np.clip(levels, ndtr(-NORMAL_LIMIT), ndtr(NORMAL_LIMIT))
        return ndtri(clipped)[:, None].astype(np.float32)

    def decode(self, block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        levels = ndtr(np.clip(block[:, 0].astype(np.float64), -NORMAL_LIMIT, NORMAL_LIMIT))
        values = np.interp(levels, QUANTILE_LEVELS, self.quantiles)
        return np.round(values, self.decimals)


@dataclass
class CategoricalColumn:
    name: str
    categories: list[str]

    @property
    def width(self) -> int:
        return len(self.categories)

    def encode(self, values: np.ndarray) -> np.ndarray:
        index = {category: position for position, category in enumerate(self.categories)}
        codes = np.array([index.get(str(value), -1) for value in values])
        if (codes < 0).any():
            unknown = values[codes < 0][0]
            raise TableError(f"column {self.name!r}: {unknown!r} is not among its categories")
        return np.eye(self.width, dtype=np.float32)[codes]

    def decode(self, block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """`block` holds probabilities (or one-hot rows); a category is drawn from each row."""
        probabilities = np.clip(block.astype(np.float64), 0.0, None)
        probabilities /= np.maximum(probabilities.sum(axis=1, keepdims=True), 1e-12)
        cumulative = probabilities.cumsum(axis=1)
        draws = rng.random((len(block), 1)) * cumulative[:, -1:]
        codes = np.minimum((cumulative < draws).sum(axis=1), self.width - 1)
        return np.asarray(self.categories, dtype=object)[codes]


Column = NumericColumn | CategoricalColumn


def _decimals(values: np.ndarray) -> int:
    """The fewest decimals (up to 6) that write every value as it is."""
    sample = values[: min(len(values), 20_000)]
    for decimals in range(7):
        if np.allclose(np.round(sample, decimals), sample, rtol=0.0, atol=1e-9):
            return decimals
    return 6


@dataclass
class TableEncoder:
    """The columns of one table, in order; `encode` gives the generators' matrix."""

    columns: list[Column] = field(default_factory=list)

    @classmethod
    def fit(cls, table: pd.DataFrame, *, categorical: list[str]) -> TableEncoder:
        if table.empty:
            raise TableError("the table has no rows")
        columns: list[Column] = []
        for name in table.columns:
            series = table[name]
            if series.isna().any():
                raise TableError(f"column {name!r} has missing values")
            if name in categorical:
                categories = sorted(series.astype(str).unique())
                if len(categories) > MAX_CATEGORIES:
                    raise TableError(
                        f"column {name!r} has {len(categories)} distinct values (at most "
                        f"{MAX_CATEGORIES}): an identifier cannot be generated as a category"
                    )
                columns.append(CategoricalColumn(name, categories))
                continue
            try:
                values = series.to_numpy(np.float64)
            except (TypeError, ValueError) as error:
                raise TableError(f"column {name!r} is not numeric: {error}") from None
            columns.append(
                NumericColumn(name, np.quantile(values, QUANTILE_LEVELS), _decimals(values))
            )
        return cls(columns)

    @property
    def width(self) -> int:
        return sum(column.width for column in self.columns)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def blocks(self) -> list[tuple[Column, slice]]:
        """Each column with its slice of the encoded matrix."""
        result, start = [], 0
        for column in self.columns:
            result.append((column, slice(start, start + column.width)))
            start += column.width
        return result

    def numeric_positions(self) -> list[int]:
        return [block.start for column, block in self.blocks() if isinstance(column, NumericColumn)]

    def layout(self) -> list[tuple[str, int]]:
        """Each column's kind and encoded width, as the generators take them."""
        return [
            ("numeric" if isinstance(column, NumericColumn) else "categorical", column.width)
            for column in self.columns
        ]

    def encode(self, table: pd.DataFrame) -> np.ndarray:
        missing = [name for name in self.names if name not in table.columns]
        if missing:
            raise TableError(f"the table lacks column(s) {', '.join(map(repr, missing))}")
        parts = []
        for column in self.columns:
            values = table[column.name].to_numpy()
            if isinstance(column, NumericColumn):
                values = values.astype(np.float64)
            parts.append(column.encode(values))
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(table), 0), np.float32)

    def decode(self, matrix: np.ndarray, *, rng: np.random.Generator) -> pd.DataFrame:
        return pd.DataFrame(
            {column.name: column.decode(matrix[:, block], rng) for column, block in self.blocks()}
        )

    def to_state(self) -> dict:
        return {
            "columns": [
                {
                    "kind": "numeric",
                    "name": c.name,
                    "quantiles": c.quantiles.tolist(),
                    "decimals": c.decimals,
                }
                if isinstance(c, NumericColumn)
                else {"kind": "categorical", "name": c.name, "categories": list(c.categories)}
                for c in self.columns
            ]
        }

    @classmethod
    def from_state(cls, state: dict) -> TableEncoder:
        columns: list[Column] = []
        for item in state["columns"]:
            if item["kind"] == "numeric":
                columns.append(
                    NumericColumn(item["name"], np.asarray(item["quantiles"]), item["decimals"])
                )
            else:
                columns.append(CategoricalColumn(item["name"], list(item["categories"])))
        return cls(columns)
