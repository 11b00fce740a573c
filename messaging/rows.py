"""Model instances from SQL rows, and array parameters as literals, for delivery's SQL.

A delivery batch reads a few rows from several tables. Through the ORM, building each query cost
more than running it (about 1–2.5 ms of CPU per query on a busy 2-core machine, against 0.3 ms for
the same SQL written out), and `Model.__init__` cost about three times the row itself. These
helpers write the statement from the model's own metadata once, and build instances with every
concrete field set, so nothing is deferred and no attribute access can fall back to a query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import JSONField, Model
from django.db.models.base import ModelState


@dataclass(frozen=True)
class ModelColumns:
    select: str  # "alias"."column", … in the model's field order
    names: tuple[str, ...]  # attribute names, in the same order
    # (position, field) of the columns whose database value needs converting (JSON).
    conversions: tuple[tuple[int, Any], ...]


@cache
def model_columns(model: type[Model], alias: str) -> ModelColumns:
    fields = model._meta.concrete_fields
    return ModelColumns(
        select=", ".join(f"{alias}.{connection.ops.quote_name(field.column)}" for field in fields),
        names=tuple(field.attname for field in fields),
        conversions=tuple(
            (position, field) for position, field in enumerate(fields) if hasattr(field, "from_db_value")
        ),
    )


def loaded(model: type[Model], columns: ModelColumns, values: tuple | list, database: str) -> Any:
    """An instance from its columns' database values, without `Model.__init__`."""
    if columns.conversions:
        values = list(values)
        for position, field in columns.conversions:
            value = values[position]
            # Most JSON columns here hold an empty object (metadata): no decoder needed for it.
            if value == "{}" and isinstance(field, JSONField) and field.decoder is None:
                values[position] = {}
            else:
                values[position] = field.from_db_value(value, None, connection)
    instance = model.__new__(model)
    instance.__dict__.update(zip(columns.names, values, strict=True))
    state = instance._state = ModelState()
    state.adding, state.db = False, database
    return instance


def instances_where(model: type[Model], where: str, params: dict) -> list[Any]:
    """`model`'s rows matching `where` (SQL over the alias `row`, values as named parameters)."""
    columns = model_columns(model, "row")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns.select} FROM {model._meta.db_table} AS row WHERE {where}",  # noqa: S608
            params,
        )
        rows = cursor.fetchall()
    return [loaded(model, columns, row, connection.alias) for row in rows]


# Array parameters as PostgreSQL array literals, one text value each: psycopg2 adapts a Python list
# element by element (2–6 µs each, a datetime the most), which came to 740 µs for one round trip of
# a half slice's outcomes and the next claim. Each literal goes with a cast in the statement.


def int_array(values: Iterable[int | None]) -> str:
    return "{" + ",".join("NULL" if value is None else str(int(value)) for value in values) + "}"


def text_array(values: Iterable[str | None]) -> str:
    return "{" + ",".join("NULL" if value is None else _quoted_element(value) for value in values) + "}"


def time_array(values: Iterable[datetime | None]) -> str:
    """Aware datetimes (a naive one would be read in the connection's time zone)."""
    return "{" + ",".join("NULL" if value is None else f'"{value.isoformat()}"' for value in values) + "}"


class TimeArrays:
    """`time_array`, each datetime object written out once however often it appears in one
    statement's arrays (a message's attempt, first attempt and success times are mostly one
    object; a slice shares its claim time)."""

    def __init__(self) -> None:
        # id → (the datetime, kept so that its id cannot be reused meanwhile; its literal)
        self._written: dict[int, tuple[datetime, str]] = {}

    def __call__(self, values: Iterable[datetime | None]) -> str:
        written = self._written
        elements = []
        for value in values:
            if value is None:
                elements.append("NULL")
                continue
            known = written.get(id(value))
            if known is None:
                known = written[id(value)] = (value, f'"{value.isoformat()}"')
            elements.append(known[1])
        return "{" + ",".join(elements) + "}"


def bool_array(values: Iterable[bool]) -> str:
    return "{" + ",".join("t" if value else "f" for value in values) + "}"


def _quoted_element(value: str) -> str:
    if "\\" in value or '"' in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{value}"'
