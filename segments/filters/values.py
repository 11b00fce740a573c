"""Reading an operator's value: Voucherify sends most values as one-element arrays, some bare."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from segments.filters.errors import FilterError

MAX_LIST_VALUES = 1000
MAX_DAYS = 36600  # a hundred years: enough for any relative date, small enough for date arithmetic
MAX_STRING_LENGTH = 1000


class Operand:
    """The value of one `"$op": value` pair, read with the field and operator named in every error."""

    def __init__(self, field: str, operator: str, raw: Any) -> None:
        self.field = field
        self.operator = operator
        self.raw = raw

    def error(self, message: str) -> FilterError:
        return FilterError(message, field=self.field, operator=self.operator)

    def single(self) -> Any:
        if isinstance(self.raw, list):
            if len(self.raw) != 1:
                raise self.error("takes exactly one value")
            return self.raw[0]
        if isinstance(self.raw, dict):
            raise self.error("takes a value, not an object")
        return self.raw

    def many(self) -> list[Any]:
        values = self.raw if isinstance(self.raw, list) else [self.raw]
        if not values:
            raise self.error("needs at least one value")
        if len(values) > MAX_LIST_VALUES:
            raise self.error(f"takes at most {MAX_LIST_VALUES} values")
        return values

    def ignored(self) -> None:
        """`$has_value`, `$is_unknown`, `$next_month` take no real value: `[]`, `true`, `[true]` or null."""
        if self.raw in (None, True, [], [True]):
            return
        raise self.error("takes no value (send [] or [true])")

    def string(self, value: Any = None) -> str:
        value = self.single() if value is None else value
        if not isinstance(value, str) or not value:
            raise self.error("needs a non-empty string value")
        if len(value) > MAX_STRING_LENGTH:
            raise self.error(f"takes strings of at most {MAX_STRING_LENGTH} characters")
        return value

    def strings(self) -> list[str]:
        return [self.string(value) for value in self.many()]

    def number(self, value: Any = None) -> int | float:
        """An int or a float; a numeric string too, since Voucherify's own examples quote counts ("0")."""
        value = self.single() if value is None else value
        if isinstance(value, bool):
            raise self.error("needs a number value")
        if isinstance(value, int | float):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                try:
                    parsed = float(value)
                except ValueError:
                    raise self.error(f"needs a number value, got {value!r}") from None
                if parsed != parsed or parsed in (float("inf"), float("-inf")):
                    raise self.error(f"needs a finite number, got {value!r}") from None
                return parsed
        raise self.error("needs a number value")

    def numbers(self) -> list[int | float]:
        return [self.number(value) for value in self.many()]

    def days(self) -> int:
        value = self.number()
        if not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
            raise self.error(f"needs a whole number of days between 0 and {MAX_DAYS}")
        return value

    def datetime(self) -> datetime:
        value = self.single()
        parsed = None
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value)
                if parsed is None and parse_date(value) is not None:
                    parsed = datetime.combine(parse_date(value), datetime.min.time())
            except ValueError:
                parsed = None
        if parsed is None:
            raise self.error(f"needs an ISO 8601 date-time, got {value!r}")
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)

    def date(self) -> date:
        value = self.single()
        parsed = None
        if isinstance(value, str):
            try:
                parsed = parse_date(value)
            except ValueError:
                parsed = None
        if parsed is None:
            raise self.error(f"needs a date as YYYY-MM-DD, got {value!r}")
        return parsed

    def scalar(self, value: Any = None) -> str | int | float | bool:
        """A metadata value: compared with its JSON type (the number 5 is not the string "5")."""
        value = self.single() if value is None else value
        if isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self.string(value)
        raise self.error("needs a string, number or boolean value")

    def scalars(self) -> list[str | int | float | bool]:
        return [self.scalar(value) for value in self.many()]
