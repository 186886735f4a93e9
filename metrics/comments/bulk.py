"""Inserting many rows at once, with the database vendor switched in one place.

PostgreSQL: one `INSERT … SELECT * FROM unnest(%s::type[], …) ON CONFLICT DO NOTHING` per
call, the columns sent as arrays (no model instances, no statement growing with the rows).
Elsewhere: `bulk_create(ignore_conflicts=True)`.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

CHUNK = 50_000


def rows_insert(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert `rows` (tuples in `columns` order, attnames such as "comment_id") into `model`'s
    table, skipping rows that conflict with a unique constraint."""
    if not rows:
        return
    fields: list[Any] = [model._meta.get_field(c.removesuffix("_id")) for c in columns]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows],
            ignore_conflicts=True,
            batch_size=2000,
        )
        return
    table = model._meta.db_table
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    arrays = ", ".join(f"%s::{_array_type(f)}[]" for f in fields)
    sql = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            cursor.execute(sql, [list(column) for column in zip(*chunk, strict=True)])


def _array_type(field: Any) -> str:
    kind = field.db_type(connection)
    return kind.split("(")[0] if kind.startswith("varchar") else kind
