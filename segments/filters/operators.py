"""The operators of each kind of field, each turning an operand into a two-valued SQL condition.

Every condition built here is TRUE or FALSE for every customer, never NULL: negated operators
(`$is_not`, `$not_in`, `$not_contain`, `$is_unknown`) go through `negated()`, which reads the positive
condition through a CASE, so a customer without the value is "not equal" rather than unknown. That
keeps SQL's three-valued logic out of and / or groups and makes the real-time re-check (a CASE per
segment) agree with the set-based sync (a WHERE) on every customer.

Semantics, shared by every kind:
- strings compare case-sensitively; a missing value is NULL or the empty string;
- relative dates count whole days of 24 hours from now, except `$is_days_ago` / `$is_days_in_future`,
  which name a calendar day in the project's time zone (as do the birthday operators);
- on `birthdate` the relative operators look at the anniversary (the next or last birthday), so
  `$is_days_in_future: [7]` is "birthday in a week"; someone born on 29 February has a birthday
  only in leap years.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import Enum
from typing import Any

from django.db.models import BooleanField, Case, CharField, Expression, Func, JSONField, Q, Value, When
from django.db.models.functions import Collate
from django.db.models.lookups import (
    Contains,
    EndsWith,
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
    StartsWith,
)

from segments.filters.values import Operand


class Kind(Enum):
    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    DATE = "date"  # a birthday: relative operators use the anniversary
    METADATA = "metadata"  # a JSON value, compared with its JSON type


@dataclass(frozen=True)
class Context:
    """When the filter is evaluated, and in which time zone a calendar day (today, a birthday) is."""

    now: datetime
    zone: tzinfo = UTC

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def start_of(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.zone)


@dataclass(frozen=True)
class Target:
    """What a field compiles to: an SQL expression of a kind, plus a text form for metadata strings."""

    kind: Kind
    expression: Expression
    text_expression: Expression | None = None  # metadata: the value as text (`->>`)
    anniversary_expression: Expression | None = None  # birthdate: month * 100 + day
    exists_expression: Expression | None = None  # counts: "at least one", for a cheaper plan


Builder = Callable[[Target, Operand, Context], Q]


@dataclass(frozen=True)
class Operator:
    build: Builder
    is_time_dependent: bool = False


class JsonbTypeof(Func):
    function = "jsonb_typeof"
    output_field = CharField()


def negated(condition: Q) -> Q:
    """NOT condition, where a NULL (unknown) condition counts as false first: always TRUE or FALSE."""
    as_boolean = Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())
    return Q(Exact(as_boolean, Value(False)))


def between(expression: Expression, start: datetime, end: datetime) -> Q:
    return Q(GreaterThanOrEqual(expression, start)) & Q(LessThanOrEqual(expression, end))


# --- strings -------------------------------------------------------------------------------------


def _string_has_value(target: Target) -> Q:
    return Q(IsNull(target.expression, False)) & negated(Q(Exact(target.expression, "")))


def _string_is_known(t: Target, o: Operand, c: Context) -> Q:
    o.ignored()
    return _string_has_value(t)


def _string_is_unknown(t: Target, o: Operand, c: Context) -> Q:
    o.ignored()
    return negated(_string_has_value(t))


STRING_OPERATORS: dict[str, Operator] = {
    "$is": Operator(lambda t, o, c: Q(Exact(t.expression, o.string()))),
    "$is_not": Operator(lambda t, o, c: negated(Q(Exact(t.expression, o.string())))),
    "$in": Operator(lambda t, o, c: Q(In(t.expression, o.strings()))),
    "$not_in": Operator(lambda t, o, c: negated(Q(In(t.expression, o.strings())))),
    "$starts_with": Operator(lambda t, o, c: Q(StartsWith(t.expression, o.string()))),
    "$ends_with": Operator(lambda t, o, c: Q(EndsWith(t.expression, o.string()))),
    "$contains": Operator(lambda t, o, c: Q(Contains(t.expression, o.string()))),
    "$not_contain": Operator(lambda t, o, c: negated(Q(Contains(t.expression, o.string())))),
    "$has_value": Operator(_string_is_known),
    "$is_unknown": Operator(_string_is_unknown),
}


# --- numbers -------------------------------------------------------------------------------------

NUMBER_OPERATORS: dict[str, Operator] = {
    "$is": Operator(lambda t, o, c: Q(Exact(t.expression, o.number()))),
    "$is_not": Operator(lambda t, o, c: negated(Q(Exact(t.expression, o.number())))),
    "$in": Operator(lambda t, o, c: Q(In(t.expression, o.numbers()))),
    "$not_in": Operator(lambda t, o, c: negated(Q(In(t.expression, o.numbers())))),
    "$more_than": Operator(lambda t, o, c: Q(GreaterThan(t.expression, o.number()))),
    "$more_than_equal": Operator(lambda t, o, c: Q(GreaterThanOrEqual(t.expression, o.number()))),
    "$less_than": Operator(lambda t, o, c: Q(LessThan(t.expression, o.number()))),
    "$less_than_equal": Operator(lambda t, o, c: Q(LessThanOrEqual(t.expression, o.number()))),
}


def _count(operator: str, *, at_least_one_when: int | None = None, none_when: int | None = None) -> Operator:
    """A count comparison; "more than 0" and "is 0" (the usual ones) become EXISTS / NOT EXISTS,
    which PostgreSQL can run as one hashed semi-join over the events instead of a count per customer."""
    counted = NUMBER_OPERATORS[operator].build

    def build(t: Target, o: Operand, c: Context) -> Q:
        value = o.number()
        if t.exists_expression is not None and value == at_least_one_when:
            return Q(t.exists_expression)
        if t.exists_expression is not None and value == none_when:
            return ~Q(t.exists_expression)
        return counted(t, o, c)

    return Operator(build)


# Counts (custom events) also take the `$count*` spellings of Voucherify's docs.
COUNT_OPERATORS: dict[str, Operator] = {
    **NUMBER_OPERATORS,
    "$is": _count("$is", none_when=0),
    "$more_than": _count("$more_than", at_least_one_when=0),
    "$more_than_equal": _count("$more_than_equal", at_least_one_when=1),
    "$less_than": _count("$less_than", none_when=1),
    "$less_than_equal": _count("$less_than_equal", none_when=0),
    "$count": _count("$is", none_when=0),
    "$count_more": _count("$more_than", at_least_one_when=0),
    "$count_less": _count("$less_than", none_when=1),
}


# --- date-times ----------------------------------------------------------------------------------


def _days_ago(t: Target, o: Operand, c: Context, *, more: bool) -> Q:
    bound = c.now - timedelta(days=o.days())
    return Q(LessThan(t.expression, bound)) if more else between(t.expression, bound, c.now)


def _days_ahead(t: Target, o: Operand, c: Context, *, more: bool) -> Q:
    bound = c.now + timedelta(days=o.days())
    return Q(GreaterThan(t.expression, bound)) if more else between(t.expression, c.now, bound)


def _on_day(t: Target, day: date, c: Context) -> Q:
    start = c.start_of(day)
    return Q(GreaterThanOrEqual(t.expression, start)) & Q(LessThan(t.expression, start + timedelta(days=1)))


def _has_value(t: Target, o: Operand, c: Context) -> Q:
    o.ignored()
    return Q(IsNull(t.expression, False))


def _is_unknown(t: Target, o: Operand, c: Context) -> Q:
    o.ignored()
    return Q(IsNull(t.expression, True))


DATETIME_OPERATORS: dict[str, Operator] = {
    "$after": Operator(lambda t, o, c: Q(GreaterThan(t.expression, o.datetime()))),
    "$before": Operator(lambda t, o, c: Q(LessThan(t.expression, o.datetime()))),
    "$has_value": Operator(_has_value),
    "$is_unknown": Operator(_is_unknown),
    "$more_than_ago": Operator(lambda t, o, c: _days_ago(t, o, c, more=True), is_time_dependent=True),
    "$less_than_ago": Operator(lambda t, o, c: _days_ago(t, o, c, more=False), is_time_dependent=True),
    # On a date-time, Voucherify's `$more_than` / `$less_than` take a number of days ago.
    "$more_than": Operator(lambda t, o, c: _days_ago(t, o, c, more=True), is_time_dependent=True),
    "$less_than": Operator(lambda t, o, c: _days_ago(t, o, c, more=False), is_time_dependent=True),
    "$more_than_future": Operator(lambda t, o, c: _days_ahead(t, o, c, more=True), is_time_dependent=True),
    "$less_than_future": Operator(lambda t, o, c: _days_ahead(t, o, c, more=False), is_time_dependent=True),
    "$is_days_ago": Operator(
        lambda t, o, c: _on_day(t, c.today - timedelta(days=o.days()), c), is_time_dependent=True
    ),
    "$is_days_in_future": Operator(
        lambda t, o, c: _on_day(t, c.today + timedelta(days=o.days()), c), is_time_dependent=True
    ),
}


# --- birthdays -----------------------------------------------------------------------------------


def month_day(day: date) -> int:
    return day.month * 100 + day.day


def _anniversary_in(t: Target, days: list[date]) -> Q:
    return Q(In(t.anniversary_expression, sorted({month_day(day) for day in days})))


def _birthday_within(t: Target, o: Operand, c: Context) -> Q:
    days = o.days()
    if not 1 <= days <= 366:
        raise o.error("needs a number of days between 1 and 366")
    return _anniversary_in(t, [c.today + timedelta(days=offset) for offset in range(days)])


def _next_month(c: Context) -> int:
    return c.today.month % 12 + 1


def _in_month(t: Target, o: Operand, month: int) -> Q:
    o.ignored()
    return Q(In(t.anniversary_expression, list(range(month * 100 + 1, month * 100 + 32))))


DATE_OPERATORS: dict[str, Operator] = {
    "$is": Operator(lambda t, o, c: Q(Exact(t.expression, o.date()))),
    "$after": Operator(lambda t, o, c: Q(GreaterThan(t.expression, o.date()))),
    "$before": Operator(lambda t, o, c: Q(LessThan(t.expression, o.date()))),
    "$has_value": Operator(_has_value),
    "$is_unknown": Operator(_is_unknown),
    "$is_days_ago": Operator(
        lambda t, o, c: _anniversary_in(t, [c.today - timedelta(days=o.days())]), is_time_dependent=True
    ),
    "$is_days_in_future": Operator(
        lambda t, o, c: _anniversary_in(t, [c.today + timedelta(days=o.days())]), is_time_dependent=True
    ),
    "$less_than_future": Operator(_birthday_within, is_time_dependent=True),
    "$this_month": Operator(lambda t, o, c: _in_month(t, o, c.today.month), is_time_dependent=True),
    "$next_month": Operator(lambda t, o, c: _in_month(t, o, _next_month(c)), is_time_dependent=True),
}


# --- metadata ------------------------------------------------------------------------------------


def _json(value: Any) -> Value:
    return Value(value, output_field=JSONField())


def _typed(t: Target, json_type: str) -> Q:
    return Q(Exact(JsonbTypeof(t.expression), json_type))


def _numeric(lookup: type) -> Builder:
    # jsonb orders values of different types too (a string sorts below any number), so the type
    # test is what keeps "high" from being less than 5.
    return lambda t, o, c: _typed(t, "number") & Q(lookup(t.expression, _json(o.number())))


def _textual(lookup: type) -> Builder:
    return lambda t, o, c: _typed(t, "string") & Q(lookup(t.text_expression, o.string()))


def _text_order(lookup: type) -> Builder:
    # Byte order (the C collation), not the database's locale: ISO dates and codes compare as written.
    return lambda t, o, c: _typed(t, "string") & Q(lookup(Collate(t.text_expression, "C"), o.string()))


def _metadata_has_value(t: Target) -> Q:
    return (
        Q(IsNull(t.expression, False))
        & negated(_typed(t, "null"))
        & negated(Q(Exact(t.expression, _json(""))))
    )


def _metadata_is_known(t: Target, o: Operand, c: Context) -> Q:
    o.ignored()
    return _metadata_has_value(t)


def _metadata_is_unknown(t: Target, o: Operand, c: Context) -> Q:
    o.ignored()
    return negated(_metadata_has_value(t))


METADATA_OPERATORS: dict[str, Operator] = {
    "$is": Operator(lambda t, o, c: Q(Exact(t.expression, _json(o.scalar())))),
    "$is_not": Operator(lambda t, o, c: negated(Q(Exact(t.expression, _json(o.scalar()))))),
    "$in": Operator(lambda t, o, c: Q(In(t.expression, [_json(v) for v in o.scalars()]))),
    "$not_in": Operator(lambda t, o, c: negated(Q(In(t.expression, [_json(v) for v in o.scalars()])))),
    "$more_than": Operator(_numeric(GreaterThan)),
    "$more_than_equal": Operator(_numeric(GreaterThanOrEqual)),
    "$less_than": Operator(_numeric(LessThan)),
    "$less_than_equal": Operator(_numeric(LessThanOrEqual)),
    "$starts_with": Operator(_textual(StartsWith)),
    "$ends_with": Operator(_textual(EndsWith)),
    "$contains": Operator(_textual(Contains)),
    "$not_contain": Operator(lambda t, o, c: negated(_textual(Contains)(t, o, c))),
    "$after": Operator(_text_order(GreaterThan)),
    "$before": Operator(_text_order(LessThan)),
    "$has_value": Operator(_metadata_is_known),
    "$is_unknown": Operator(_metadata_is_unknown),
}


OPERATORS_BY_KIND: dict[Kind, dict[str, Operator]] = {
    Kind.STRING: STRING_OPERATORS,
    Kind.NUMBER: NUMBER_OPERATORS,
    Kind.DATETIME: DATETIME_OPERATORS,
    Kind.DATE: DATE_OPERATORS,
    Kind.METADATA: METADATA_OPERATORS,
}
