"""Inserting many rows fast, for batch paths such as a bank statement confirming thousands of
payments in one transaction.

`Model.objects.bulk_create` builds a model instance per row and prepares every value through the
field machinery; at tens of thousands of rows that costs seconds. `rows_insert` takes plain dicts
keyed by column attribute, reserves primary keys up front (so callers can link rows to each
other before inserting) and writes them with one `executemany`. No `save()`, no signals: use it
only for append-only records whose validity the caller has already established.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models, transaction

_NEEDS_PREP = (
    models.DateTimeField,
    models.DateField,
    models.TimeField,
    models.JSONField,
    models.UUIDField,
    models.GenericIPAddressField,
)


def ids_reserve(model: type[models.Model], count: int) -> list[int]:
    """`count` new primary keys for `model`, valid until the surrounding transaction ends."""
    assert transaction.get_connection().in_atomic_block, "reserve ids inside the transaction"
    if count <= 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk
    assert pk is not None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, pk.column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the transaction holds the database's write lock from its first statement
        # (IMMEDIATE mode), so nobody else can take these numbers meanwhile.
        cursor.execute(f'SELECT COALESCE(MAX("{pk.column}"), 0) FROM "{table}"')  # noqa: S608
        start = int(cursor.fetchone()[0]) + 1
        return list(range(start, start + count))


def _converter(field: models.Field) -> Callable[[Any], Any]:
    if isinstance(field, models.DateField):  # and DateTimeField, its subclass
        # A batch stamps its rows with one moment or a few days: convert each value once.
        cache: dict[Any, Any] = {}

        def moment(value: Any) -> Any:
            if value not in cache:
                cache[value] = field.get_db_prep_save(value, connection)
            return cache[value]

        return moment
    if isinstance(field, _NEEDS_PREP):
        return lambda value: field.get_db_prep_save(value, connection)
    # Strings, numbers, booleans, decimals and foreign-key ids go to the driver as they are.
    return lambda value: value


def rows_insert(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows given as {attname: value}. A row without its primary key gets a reserved one
    (written into the dict); columns a row leaves out take the field's default."""
    if not rows:
        return
    pk_name = model._meta.pk.attname
    missing = [row for row in rows if row.get(pk_name) is None]
    for row, pk in zip(missing, ids_reserve(model, len(missing)), strict=True):
        row[pk_name] = pk
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(model._meta.db_table)
    convert = [(f.attname, _converter(f), f.get_default) for f in fields]
    params = [
        [fn(row[name]) if name in row else fn(default()) for name, fn, default in convert]
        for row in rows
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(params), 5000):
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                params[start : start + 5000],
            )
