"""The per-card and per-merchant features of a dataset's transactions (modeling/entity_features),
read from the database: entity keys, times, amounts, and when each fraud became known.

Only datasets whose files name a card or a merchant get them. Merchant risk counts fraud labels
by the time they became known (a label's `known_at`, else when it was recorded), and only where
the file's times are dates (seconds since a file's first row cannot be compared with the day a
label was given). Labels of the audit frame never count: the audit must judge a model that
learned nothing from its answers. Reference labels are never read.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
from django.conf import settings
from django.db.models import F, Max, Min, Q
from django.db.models.functions import Coalesce

from labeler.models import Dataset, Label, Transaction, memory
from modeling.entity_features import SECONDS_PER_DAY, EntityFeatureConfig, entity_features

ENTITY_FIELDS = {"card": "card_key", "merchant": "merchant_key"}


def derived_config(dataset: Dataset) -> EntityFeatureConfig | None:
    """The dataset's derived features (None: its files name no card or merchant)."""
    schema = dataset.schema or {}
    entities = tuple(part for part in ENTITY_FIELDS if schema.get(part))
    if not entities:
        return None
    dated = schema.get("time") == "datetime"
    return EntityFeatureConfig(
        windows_days=tuple(settings.DERIVED_WINDOWS_DAYS),
        risk_delay_days=settings.DERIVED_RISK_DELAY_DAYS,
        entities=entities,
        risk_entities=("merchant",) if dated and "merchant" in entities else (),
    )


def _frauds_known(dataset_id: int) -> dict[int, float]:
    """{transaction id: when its first fraud label became known} over the dataset, the audit
    frame's labels left out."""
    known = (
        Label.objects.filter(
            transaction__dataset_id=dataset_id,
            transaction__audit_number__isnull=True,
            status=Label.Status.ACTIVE,
            label_class__is_positive=True,
        )
        .values("transaction_id")
        .annotate(first=Min(Coalesce(F("known_at"), F("created_at"))))
        .values_list("transaction_id", "first")
    )
    return {transaction_id: first.timestamp() for transaction_id, first in known}


def fraud_known_at(dataset: Dataset, transaction_ids, *, from_memory: bool = False) -> np.ndarray:
    """Per transaction (in the given order), when a fraud label on it became known: seconds
    since 1970 UTC, NaN where none is known (and for an id None: a row not stored). The audit
    frame's labels are left out.
    `from_memory`: as read at most `memory.CACHE_SECONDS` ago (for decisions: a label counts in
    a risk feature only from the risk delay after it became known, days by default)."""
    if from_memory:
        known = memory.remembered(
            Label, lambda: _frauds_known(dataset.pk), key=("frauds known", dataset.pk)
        )
    else:
        known = _frauds_known(dataset.pk)
    return np.asarray([known.get(t, np.nan) for t in transaction_ids], np.float64)


class EntityCoder:
    """The same code for the same key, over every chunk, in order of first appearance; rows
    without a key get -1 here and a code of their own from `codes_finish`."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def encode(self, keys: list[str | None]) -> np.ndarray:
        import pandas as pd

        local, uniques = pd.factorize(pd.Series(keys, dtype="string"), use_na_sentinel=True)
        mapping = np.fromiter(
            (self.codes.setdefault(key, len(self.codes)) for key in uniques),
            np.int64,
            len(uniques),
        )
        if not len(mapping):  # no row has a key
            return np.full(len(keys), -1, np.int64)
        return np.where(local >= 0, mapping[np.maximum(local, 0)], -1)


def codes_finish(codes: np.ndarray) -> np.ndarray:
    """Each row without a key (-1) its own code, after every keyed one's."""
    missing = codes < 0
    codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return codes


def entity_codes(keys: list[str | None]) -> np.ndarray:
    """The same code for the same key; rows without one each get a code of their own."""
    return codes_finish(EntityCoder().encode(keys))


def derived_features(
    dataset: Dataset,
    transaction_ids: np.ndarray,
    times: np.ndarray,
    amounts: np.ndarray,
    entities: dict[str, np.ndarray],
) -> tuple[np.ndarray | None, list[str], dict | None]:
    """(values (rows, features) or None, names, the config as a dict to keep with the model).
    `entities`: per entity part ("card", "merchant"), each row's code (`entity_codes`)."""
    config = derived_config(dataset)
    if config is None:
        return None, [], None
    values, names = entity_features(
        times=times,
        amount=amounts,
        entities={part: entities[part] for part in config.entities},
        fraud_known_at=fraud_known_at(dataset, transaction_ids) if config.risk_entities else None,
        config=config,
    )
    return values, names, asdict(config)


def _config_of(config_state: dict) -> EntityFeatureConfig:
    return EntityFeatureConfig(
        **{
            **config_state,
            "windows_days": tuple(config_state["windows_days"]),
            "night_hours": tuple(config_state["night_hours"]),
            "entities": tuple(config_state["entities"]),
            "risk_entities": tuple(config_state["risk_entities"]),
        }
    )


def _history(
    dataset: Dataset, config: EntityFeatureConfig, *, first: float, last: float, keys: dict, ids
) -> list[tuple]:
    """(id, time, amount, entity keys...) of the stored rows a derived feature of a row in
    [first, last] can depend on: the same card's or merchant's over the longest window (and the
    risk delay) before it, plus the rows `ids`; in id order."""
    fields = [ENTITY_FIELDS[part] for part in config.entities]
    reach = (max(config.windows_days) + config.risk_delay_days) * SECONDS_PER_DAY
    history = Q(pk__in=[int(t) for t in ids])
    for part in config.entities:
        wanted = sorted({key for key in keys[part] if key is not None})
        if wanted:
            history |= Q(**{f"{ENTITY_FIELDS[part]}__in": wanted})
    return list(
        dataset.transactions.filter(history, time__gte=first - reach, time__lte=last)
        .order_by("id")
        .values_list("id", "time", "amount", *fields)
    )


def _features_of(
    dataset: Dataset, config: EntityFeatureConfig, rows: list[tuple], *, from_memory=False
) -> np.ndarray:
    """entity_features over rows (id, time, amount, keys...): id None for a row not stored.
    `from_memory`: the fraud labels' times as `fraud_known_at` remembers them."""
    known = None
    if config.risk_entities:
        known = fraud_known_at(dataset, [row[0] for row in rows], from_memory=from_memory)
    values, _ = entity_features(
        times=np.asarray([row[1] for row in rows], np.float64),
        amount=np.asarray([row[2] for row in rows], np.float64),
        entities={
            part: entity_codes([row[3 + index] for row in rows])
            for index, part in enumerate(config.entities)
        },
        fraud_known_at=known,
        config=config,
    )
    return values


def derived_rows(dataset: Dataset, transaction_ids: np.ndarray, config_state: dict) -> np.ndarray:
    """These transactions' derived features as a version computed them (`config_state`, kept
    in its model file), from the histories they depend on: their cards' and merchants'
    transactions over the longest window (and the risk delay) up to each one's own time. The
    same values as for the whole dataset; one read, however many rows."""
    config = _config_of(config_state)
    wanted = Transaction.objects.filter(pk__in=[int(t) for t in transaction_ids])
    bounds = wanted.aggregate(first=Min("time"), last=Max("time"))
    keys = {
        part: list(wanted.values_list(ENTITY_FIELDS[part], flat=True)) for part in config.entities
    }
    rows = _history(
        dataset, config, first=bounds["first"], last=bounds["last"], keys=keys, ids=transaction_ids
    )
    values = _features_of(dataset, config, rows)
    position = {row[0]: i for i, row in enumerate(rows)}
    return values[[position[int(t)] for t in transaction_ids]]


def derived_unstored(
    dataset: Dataset,
    *,
    times: np.ndarray,
    amounts: np.ndarray,
    keys: dict[str, list[str | None]],
    config_state: dict,
) -> np.ndarray:
    """The derived features of transactions that are not stored (a decision asked for), each
    as if it came after the stored history of its card and merchant."""
    config = _config_of(config_state)
    history = _history(
        dataset, config, first=float(np.min(times)), last=float(np.max(times)), keys=keys, ids=[]
    )
    extra = [
        (None, float(times[i]), float(amounts[i]), *[keys[part][i] for part in config.entities])
        for i in range(len(times))
    ]
    return _features_of(dataset, config, history + extra, from_memory=True)[len(history) :]


def derived_row(transaction, config_state: dict) -> np.ndarray:
    """One transaction's derived features as a version computed them (see `derived_rows`)."""
    return derived_rows(transaction.dataset, np.asarray([transaction.pk]), config_state)[0]


def derived_for_rows(
    dataset: Dataset, base, rows, config_state: dict
) -> tuple[np.ndarray, list[str]]:
    """The derived features of `rows` (training_rows.FeatureRows, read from `base`) and their
    names, as a run over every row of `base` computes them: from the rows of `base` over the
    longest window (and the risk delay) before the earliest of them up to the latest, read in
    chunks without their feature vectors. For a range of ids, whose rows are close in time."""
    from labeler.services.training_rows import feature_rows_read

    config = _config_of(config_state)
    reach = (max(config.windows_days) + config.risk_delay_days) * SECONDS_PER_DAY
    history = feature_rows_read(
        base.filter(time__gte=float(rows.times.min()) - reach, time__lte=float(rows.times.max())),
        0,
        features=False,
    )
    values, names = entity_features(
        times=history.times,
        amount=history.amounts,
        entities={part: history.entities[part] for part in config.entities},
        fraud_known_at=fraud_known_at(dataset, history.ids) if config.risk_entities else None,
        config=config,
    )
    positions = np.searchsorted(history.ids, rows.ids)
    found = positions < len(history.ids)
    if not np.all(found) or np.any(history.ids[positions[found]] != rows.ids[found]):
        raise ValueError("the rows' history was read without some of the rows themselves")
    return values[positions], names
