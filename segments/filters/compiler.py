"""From filter JSON to one Django `Q` over the customers table.

A filter is a group:

    {"junction": "and",                                   # or "or"; "and" when left out
     "metadata.club_level": {"conditions": {"$in": ["Gold", "Silver"]}},
     "summary.orders.total_amount": {"conditions": {"$more_than": [10000]}},
     "events.cart_abandoned.count": {"conditions": {"$more_than": [2]}, "window_days": 30},
     "groups": [{"junction": "or", "address.city": {...}, "address.country": {...}}]}

Every key but `junction` and `groups` is a field path (see `fields.py`) holding `conditions`, an
object of one or more `"$operator": value` pairs, all of which must hold. A group's fields and
nested groups are joined by its junction. Depth, size and condition count are bounded, and every
error names the field and the operator it is about.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from segments.filters import fields
from segments.filters.errors import FilterError
from segments.filters.operators import Context
from segments.filters.values import Operand

MAX_DEPTH = 4  # the top group and three levels of nested groups
MAX_CONDITIONS = 50
MAX_FILTER_BYTES = 20_000
JUNCTIONS = {"and", "or"}
GROUPS_KEY = "groups"


@dataclass
class CompiledFilter:
    q: Q
    is_time_dependent: bool = False
    field_paths: set[str] = field(default_factory=set)
    condition_count: int = 0


def compile_filter(filter: Any, *, now: datetime | None = None, zone: str | tzinfo = UTC) -> CompiledFilter:
    """Compile `filter`, or raise FilterError. Relative dates are fixed against `now` (default: now);
    calendar days ("today", a birthday) are those of `zone` (the project's time zone)."""
    if not isinstance(filter, dict):
        raise FilterError("a filter must be an object")
    try:
        size = len(json.dumps(filter))
    except (TypeError, ValueError):
        raise FilterError("a filter must be plain JSON") from None
    if size > MAX_FILTER_BYTES:
        raise FilterError(f"a filter may have at most {MAX_FILTER_BYTES} bytes of JSON")
    compiled = CompiledFilter(q=Q())
    context = Context(now=now or timezone.now(), zone=ZoneInfo(zone) if isinstance(zone, str) else zone)
    compiled.q = _group(filter, depth=1, context=context, compiled=compiled)
    if compiled.condition_count == 0:
        raise FilterError("a filter needs at least one condition")
    return compiled


def _junction(group: Mapping[str, Any]) -> str:
    junction = group.get("junction", "and")
    if not isinstance(junction, str) or junction.lower() not in JUNCTIONS:
        raise FilterError(f"junction must be 'and' or 'or', got {junction!r}")
    return junction.lower()


def _group(group: Any, *, depth: int, context: Context, compiled: CompiledFilter) -> Q:
    if not isinstance(group, dict):
        raise FilterError("a group must be an object")
    if depth > MAX_DEPTH:
        raise FilterError(f"groups may be nested at most {MAX_DEPTH - 1} levels deep")
    junction = _junction(group)
    parts: list[Q] = []
    for key, value in group.items():
        if key == "junction":
            continue
        if key == GROUPS_KEY:
            if not isinstance(value, list) or not value:
                raise FilterError("groups must be a non-empty array of groups")
            parts.extend(
                _group(inner, depth=depth + 1, context=context, compiled=compiled) for inner in value
            )
            continue
        parts.append(_field(key, value, context=context, compiled=compiled))
    if not parts:
        raise FilterError("a group needs at least one condition")
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if junction == "and" else combined | part
    return combined


def _field(path: str, spec: Any, *, context: Context, compiled: CompiledFilter) -> Q:
    if not isinstance(spec, dict) or not isinstance(spec.get("conditions"), dict):
        raise FilterError('needs {"conditions": {"$operator": value}}', field=path)
    options = {key: value for key, value in spec.items() if key != "conditions"}
    resolved = fields.resolve(path, options, context)
    conditions = spec["conditions"]
    if not conditions:
        raise FilterError("needs at least one operator in conditions", field=path)
    result: Q | None = None
    for operator_name, raw in conditions.items():
        operator = resolved.operators.get(operator_name)
        if operator is None:
            valid = ", ".join(sorted(resolved.operators))
            raise FilterError(
                f"is not an operator of this field (use one of {valid})", field=path, operator=operator_name
            )
        condition = operator.build(resolved.target, Operand(path, operator_name, raw), context)
        result = condition if result is None else result & condition
        compiled.condition_count += 1
        if compiled.condition_count > MAX_CONDITIONS:
            raise FilterError(f"a filter may have at most {MAX_CONDITIONS} conditions")
        compiled.is_time_dependent |= operator.is_time_dependent
    compiled.is_time_dependent |= resolved.is_time_dependent
    compiled.field_paths.add(path)
    assert result is not None
    return result
