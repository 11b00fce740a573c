"""Model instances to and from hand-written SQL, for the few hot paths where compiling a queryset
costs more than running it (the API key lookup and the customer upsert run on every integration
request).

A `RowShape` lists a model's concrete columns under a table alias and turns the matching slice of a
result row back into an instance, applying the same database converters the ORM applies (JSON
text to objects, for one); `insert_values` prepares an unsaved instance's columns the way the ORM's
insert would. Everything else keeps using the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model


class RowShape:
    def __init__(self, model: type[Model], alias: str) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        quote = connection.ops.quote_name
        self.columns = ", ".join(f"{quote(alias)}.{quote(field.column)}" for field in self.fields)
        self._converters = [
            (index, converters, field.get_col(alias))
            for index, field in enumerate(self.fields)
            if (converters := self._converters_of(field, alias))
        ]

    @staticmethod
    def _converters_of(field, alias: str) -> list:
        column = field.get_col(alias)
        return connection.ops.get_db_converters(column) + column.get_db_converters(connection)

    @property
    def width(self) -> int:
        return len(self.fields)

    def insert_values(self, instance: Model) -> tuple[str, list[Any]]:
        """`(column list, values)` for inserting `instance`, its primary key left to the database."""
        fields = [field for field in self.fields if not field.primary_key]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)
        values = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
        return columns, values

    def load(self, row: Sequence[Any], start: int = 0) -> Model:
        """The instance whose columns are `row[start : start + width]`."""
        values = list(row[start : start + self.width])
        for index, converters, column in self._converters:
            for converter in converters:
                values[index] = converter(values[index], column, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


@cache
def shape_of(model: type[Model]) -> RowShape:
    """The model's shape under the alias "t", made once per process."""
    return RowShape(model, "t")


def insert(instance: Model) -> Model:
    """`instance.save(force_insert=True)` as one hand-written statement: no query compiled, no
    signals sent (none of the models on the hot paths has receivers). Returns the saved instance."""
    _insert(instance, "")
    return instance


# The conflict target of the partial unique index every upsert by source_id relies on.
SOURCE_ID_CONFLICT = "(project_id, source_id) WHERE source_id IS NOT NULL"


def insert_unless_conflict(instance: Model, conflict_target: str = SOURCE_ID_CONFLICT) -> bool:
    """Insert `instance` unless a row already holds its key under `conflict_target` (a concurrent
    request's row is waited for). No savepoint needed: the conflict leaves the transaction usable.
    Says whether it was inserted."""
    return _insert(instance, f"ON CONFLICT {conflict_target} DO NOTHING")


def _insert(instance: Model, on_conflict: str) -> bool:
    model = type(instance)
    columns, values = shape_of(model).insert_values(instance)
    placeholders = ", ".join(["%s"] * len(values))
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
            f"{on_conflict} RETURNING {quote(model._meta.pk.column)}",
            values,
        )
        row = cursor.fetchone()
    if row is None:
        return False
    (instance.pk,) = row
    instance._state.adding = False
    instance._state.db = connection.alias
    return True


def locked_by(model: type[Model], project: Any, column: str, value: Any) -> Model | None:
    """The project's row of `model` whose `column` (a unique key within the project) is `value`,
    locked FOR UPDATE; None when there is none."""
    shape = shape_of(model)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {shape.columns} FROM {quote(model._meta.db_table)} t "  # noqa: S608
            f"WHERE t.project_id = %s AND t.{quote(column)} = %s FOR UPDATE",
            [project.pk, value],
        )
        row = cursor.fetchone()
    return None if row is None else shape.load(row)
