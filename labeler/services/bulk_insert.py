"""The fast write path for imports: executemany on SQLite, COPY on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Model


def _column_names(model: type[Model], fields: Sequence[str]) -> list[str]:
    return [model._meta.get_field(name).column for name in fields]


def rows_insert(model: type[Model], fields: Sequence[str], rows: Iterable[tuple]) -> None:
    """Inserts rows (tuples in `fields` order, values already adapted) inside the open transaction.

    ORM bulk_create spends most of its time building model instances; at 285k rows that alone
    costs longer than the whole import may take, so the rows go to the driver directly.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _column_names(model, fields))
    connection.ensure_connection()
    raw = connection.connection
    if connection.vendor == "sqlite":
        placeholders = ", ".join("?" for _ in fields)
        raw.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)
    elif connection.vendor == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        instances = (model(**dict(zip(fields, row, strict=True))) for row in rows)
        model.objects.bulk_create(instances, batch_size=2000)


def datetime_value(value):
    """A datetime in the form the database driver expects for raw inserts."""
    return connection.ops.adapt_datetimefield_value(value)
