"""Inserting many rows fast, for batch paths such as a bank statement confirming thousands of
payments in one transaction.

`Model.objects.bulk_create` builds a model instance per row and prepares every value through the
field machinery; at tens of thousands of rows that costs seconds. `rows_insert` takes plain dicts
keyed by column attribute, reserves primary keys up front (so callers can link rows to each
other before inserting) and writes them with one `executemany`. No `save()`, no signals: use it
only for append-only records whose validity the caller has already established.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models, transaction
from django.db.backends.base.operations import BaseDatabaseOperations

# Ids per IN list: well under SQLite's limit on a statement's parameters.
_MAX_PARAMETERS = 900

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


def _converter(field: models.Field, conn: Any) -> Callable[[Any], Any] | None:
    """How a value of `field` goes to the driver, or None when it goes as it is (strings,
    numbers, booleans, decimals and foreign-key ids)."""
    if isinstance(field, models.DateField):  # and DateTimeField, its subclass
        # A batch stamps its rows with one moment or a few days: convert each value once.
        cache: dict[Any, Any] = {}
        prepare = field.get_db_prep_save

        def moment(value: Any) -> Any:
            if value is None:
                return None
            converted = cache.get(value, cache)
            if converted is cache:
                converted = cache[value] = prepare(value, conn)
            return converted

        return moment
    if isinstance(field, models.JSONField):
        # None is SQL NULL (as `JSONField.get_db_prep_save` has it); anything else goes through
        # the backend's adapter, which on SQLite is json.dumps with the field's encoder: that
        # is done here with one encoder for the whole batch instead of one per value.
        adapt = conn.ops.adapt_json_value
        encoder = field.encoder
        if type(conn.ops).adapt_json_value is BaseDatabaseOperations.adapt_json_value:
            encode = (encoder or json.JSONEncoder)().encode
            return lambda value: None if value is None else encode(value)
        return lambda value: None if value is None else adapt(value, encoder)
    if isinstance(field, _NEEDS_PREP):
        prepare = field.get_db_prep_save
        return lambda value: None if value is None else prepare(value, conn)
    return None


def rows_insert(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows given as {attname: value}. A row without its primary key gets a reserved one
    (written into the dict); columns a row leaves out take the field's default."""
    if not rows:
        return
    pk_name = model._meta.pk.attname
    missing = [row for row in rows if row.get(pk_name) is None]
    for row, pk in zip(missing, ids_reserve(model, len(missing)), strict=True):
        row[pk_name] = pk
    # The connection itself, not the thread-local proxy: every attribute read through the
    # proxy is a context-local lookup, and a batch reads them per value.
    conn = transaction.get_connection()
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    present = rows[0].keys()
    if all(row.keys() == present for row in rows):
        # The usual batch: every row has the same columns. Take them with one itemgetter and
        # convert only those that need it; a column no row gives takes its default per row.
        given = [f for f in fields if f.attname in present]
        defaulted = [f for f in fields if f.attname not in present]
    else:
        given, defaulted = [], fields
    fields = given + defaulted
    take = operator.itemgetter(*[f.attname for f in given]) if given else None
    single = len(given) == 1
    converters = [(i, fn) for i, f in enumerate(fields) if (fn := _converter(f, conn))]
    defaults = [(f.attname, f.get_default) for f in defaulted]
    params = []
    for row in rows:
        values = [] if take is None else [take(row)] if single else list(take(row))
        for name, default in defaults:
            values.append(row[name] if name in row else default())
        for index, convert in converters:
            values[index] = convert(values[index])
        params.append(values)
    columns = ", ".join(conn.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = conn.ops.quote_name(model._meta.db_table)
    with conn.cursor() as cursor:
        for start in range(0, len(params), 5000):
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                params[start : start + 5000],
            )


def rows_update(model: type[models.Model], ids: Sequence[int], values: dict[str, Any]) -> None:
    """Set `values` ({field name: value}) on the rows with these primary keys, in plain SQL.

    `QuerySet.update` prepares every id of its IN list through the lookup machinery, which
    for the thousands of rows of a batch costs more than the update itself."""
    if not ids:
        return
    conn = transaction.get_connection()
    quote = conn.ops.quote_name
    fields = [model._meta.get_field(name) for name in values]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)  # type: ignore[union-attr]
    prepared = [
        field.get_db_prep_save(values[field.name], conn)  # type: ignore[union-attr]
        for field in fields
    ]
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    with conn.cursor() as cursor:
        for start in range(0, len(ids), _MAX_PARAMETERS):
            chunk = list(ids[start : start + _MAX_PARAMETERS])
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET {assignments} WHERE {pk} IN ({marks})",  # noqa: S608
                [*prepared, *chunk],
            )
