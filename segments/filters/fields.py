"""The field registry: every field path a filter may name, and what it compiles to.

Fixed paths map to customer columns. Families of paths (`metadata.<key>`, `events.<name>.count`)
are patterns with a builder. Other apps extend the registry with `register_field_pattern()` from their
`AppConfig.ready()`; see EXTENSION POINTS at the bottom for the families that are expected there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Exists, F, IntegerField, OuterRef, Subquery, Value
from django.db.models.aggregates import Count
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Coalesce, ExtractDay, ExtractMonth

from segments.filters.errors import FilterError
from segments.filters.operators import COUNT_OPERATORS, OPERATORS_BY_KIND, Context, Kind, Operator, Target


@dataclass(frozen=True)
class Field:
    """A resolved field: its target, its operators, and whether its value changes with time alone."""

    target: Target
    operators: Mapping[str, Operator]
    is_time_dependent: bool = False


# A builder gets the regex match, the field's options (keys next to `conditions`) and the context.
FieldBuilder = Callable[[re.Match, Mapping[str, Any], Context], Field]


def _column(kind: Kind, column: str) -> Field:
    expression = F(column)
    anniversary = None
    if kind is Kind.DATE:
        anniversary = ExtractMonth(column) * Value(100) + ExtractDay(column)
    return Field(Target(kind, expression, anniversary_expression=anniversary), OPERATORS_BY_KIND[kind])


COLUMNS: dict[str, tuple[Kind, str]] = {
    "name": (Kind.STRING, "name"),
    "email": (Kind.STRING, "email"),
    "phone": (Kind.STRING, "phone"),
    "source_id": (Kind.STRING, "source_id"),
    "birthdate": (Kind.DATE, "birthdate"),
    "created_at": (Kind.DATETIME, "created_at"),
    "address.city": (Kind.STRING, "address_city"),
    "address.state": (Kind.STRING, "address_state"),
    "address.line_1": (Kind.STRING, "address_line_1"),
    "address.line_2": (Kind.STRING, "address_line_2"),
    "address.country": (Kind.STRING, "address_country"),
    "address.postal_code": (Kind.STRING, "address_postal_code"),
    # The orders summary columns, kept by the order services (canceled orders do not count).
    "summary.orders.total_amount": (Kind.NUMBER, "orders_total_amount"),
    "summary.orders.total_count": (Kind.NUMBER, "orders_count"),
    "summary.orders.last_order_amount": (Kind.NUMBER, "last_order_amount"),
    "summary.orders.last_order_date": (Kind.DATETIME, "last_order_at"),
}

# `metadata.<key>` or `metadata.<key>.<nested key>`; all-digit keys would be read as array indexes.
METADATA_KEY = re.compile(r"^(?!\d+$)[\w\- ]{1,100}$")
MAX_METADATA_PATH = 3


def _metadata(match: re.Match, options: Mapping[str, Any], context: Context) -> Field:
    path = match.group("path").split(".")
    field = match.group(0)
    if len(path) > MAX_METADATA_PATH or not all(METADATA_KEY.match(key) for key in path):
        raise FilterError(
            f"metadata keys are 1-100 letters, digits, '_', '-' or spaces (not only digits), "
            f"at most {MAX_METADATA_PATH} levels deep",
            field=field,
        )
    expression: Any = "metadata"
    for key in path[:-1]:
        expression = KeyTransform(key, expression)
    target = Target(
        Kind.METADATA,
        KeyTransform(path[-1], expression),
        text_expression=KeyTextTransform(path[-1], expression),
    )
    return Field(target, OPERATORS_BY_KIND[Kind.METADATA])


MAX_WINDOW_DAYS = 3660


def _event_count(match: re.Match, options: Mapping[str, Any], context: Context) -> Field:
    """How many custom events of that name the customer did, optionally in the last `window_days`."""
    from customers.models import CustomEvent

    field = match.group(0)
    name = match.group("name")
    if not 1 <= len(name) <= 300:
        raise FilterError("the event name must have 1 to 300 characters", field=field)
    events = CustomEvent.objects.unscoped().filter(
        project=OuterRef("project"), customer=OuterRef("pk"), name=name
    )
    window = options.get("window_days")
    if window is not None:
        if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= MAX_WINDOW_DAYS:
            raise FilterError(f"window_days must be a whole number from 1 to {MAX_WINDOW_DAYS}", field=field)
        events = events.filter(created_at__gte=context.now - timedelta(days=window))
    counted = events.order_by().values("customer").annotate(total=Count("*")).values("total")
    expression = Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
    target = Target(Kind.NUMBER, expression, exists_expression=Exists(events))
    return Field(target, COUNT_OPERATORS, is_time_dependent=window is not None)


_patterns: list[tuple[re.Pattern, FieldBuilder, frozenset[str]]] = []


def register_field_pattern(pattern: str, builder: FieldBuilder, *, options: set[str] | None = None) -> None:
    """Add (or replace) a family of field paths; `options` names keys allowed next to `conditions`."""
    compiled = re.compile(pattern)
    _patterns[:] = [entry for entry in _patterns if entry[0].pattern != pattern]
    _patterns.insert(0, (compiled, builder, frozenset(options or ())))


register_field_pattern(r"^metadata\.(?P<path>.+)$", _metadata)
register_field_pattern(r"^events\.(?P<name>.+)\.count$", _event_count, options={"window_days"})

# --- Campaign data (redemptions, loyalty) ----------------------------------------------------------
# Builders for further families are added the same way, from another app's AppConfig.ready(): a
# builder returns `Field(Target(kind, <expression correlated on OuterRef("pk") and
# OuterRef("project")>), operators)`.


def _campaign_field(name: str) -> FieldBuilder:
    def build(match: re.Match, options: Mapping[str, Any], context: Context) -> Field:
        from segments.filters import campaign_fields

        return getattr(campaign_fields, name)(match, options, context)

    return build


register_field_pattern(r"^summary\.redemptions\.(?P<metric>[\w.]+)$", _campaign_field("redemption_summary"))
register_field_pattern(
    r"^loyalty_points\.campaigns\.(?P<campaign>.+)\.points$", _campaign_field("loyalty_points")
)
register_field_pattern(r"^loyalty_tier\.campaigns\.(?P<campaign>.+)\.tier$", _campaign_field("loyalty_tier"))


def resolve(path: str, options: Mapping[str, Any], context: Context) -> Field:
    """The field named by `path`; unknown paths and unknown options raise a FilterError naming it."""
    if not isinstance(path, str) or len(path) > 400:
        raise FilterError("is not a field a filter can use", field=str(path)[:100])
    if path in COLUMNS:
        allowed: frozenset[str] = frozenset()
        field = _column(*COLUMNS[path])
    else:
        for pattern, builder, options_allowed in _patterns:
            match = pattern.match(path)
            if match:
                field = builder(match, options, context)
                allowed = options_allowed
                break
        else:
            raise FilterError("is not a field a filter can use", field=path)
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise FilterError(f"unknown key {unknown[0]!r} next to conditions", field=path)
    return field


def known_fields() -> list[str]:
    """For the dashboard's filter builder: the fixed fields and the families' patterns."""
    from segments.filters.campaign_fields import GIFT_METRICS, REDEMPTION_METRICS

    return [
        *COLUMNS,
        *(f"summary.redemptions.{metric}" for metric in REDEMPTION_METRICS + GIFT_METRICS),
        "metadata.<key>",
        "events.<name>.count",
        "loyalty_points.campaigns.<campaign>.points",
        "loyalty_tier.campaigns.<campaign>.tier",
    ]
