"""Quoted table and column names of a model, for the few statements written by hand."""

from __future__ import annotations

from django.db import connection
from django.db.models import Model


def quoted_table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def quoted_column(model: type[Model], field: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field).column)
