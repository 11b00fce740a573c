"""A filter in words, for the dashboard: `metadata.club_level is one of Gold, Silver and …`."""

from __future__ import annotations

from typing import Any

OPERATOR_WORDS = {
    "$is": "is",
    "$is_not": "is not",
    "$in": "is one of",
    "$not_in": "is none of",
    "$has_value": "has a value",
    "$is_unknown": "is unknown",
    "$starts_with": "starts with",
    "$ends_with": "ends with",
    "$contains": "contains",
    "$not_contain": "does not contain",
    "$more_than": "is more than",
    "$more_than_equal": "is at least",
    "$less_than": "is less than",
    "$less_than_equal": "is at most",
    "$after": "is after",
    "$before": "is before",
    "$more_than_ago": "was more than {} days ago",
    "$less_than_ago": "was less than {} days ago",
    "$more_than_future": "is more than {} days ahead",
    "$less_than_future": "is less than {} days ahead",
    "$is_days_ago": "was {} days ago",
    "$is_days_in_future": "is in {} days",
    "$next_month": "is next month",
    "$this_month": "is this month",
    "$count": "is",
    "$count_more": "is more than",
    "$count_less": "is less than",
}
NO_VALUE = {"$has_value", "$is_unknown", "$next_month", "$this_month"}


def _values(raw: Any) -> list[Any]:
    return raw if isinstance(raw, list) else [raw]


def _condition(field: str, operator: str, raw: Any, spec: dict) -> str:
    words = OPERATOR_WORDS.get(operator, operator)
    values = _values(raw)
    label = field
    if field.startswith("events.") and field.endswith(".count"):
        label = f"number of {field[7:-6]} events"
        if spec.get("window_days"):
            label += f" in the last {spec['window_days']} days"
    if operator in NO_VALUE:
        return f"{label} {words}"
    if "{}" in words:
        return f"{label} {words.format(values[0] if values else '?')}"
    return f"{label} {words} {', '.join(str(value) for value in values)}"


def describe_filter(filter: Any, *, depth: int = 0) -> str:
    if not isinstance(filter, dict):
        return "—"
    junction = str(filter.get("junction", "and")).lower()
    parts = []
    for key, value in filter.items():
        if key == "junction":
            continue
        if key == "groups" and isinstance(value, list):
            parts.extend(f"({describe_filter(group, depth=depth + 1)})" for group in value)
            continue
        conditions = value.get("conditions", {}) if isinstance(value, dict) else {}
        parts.extend(_condition(key, operator, raw, value) for operator, raw in conditions.items())
    return f" {junction} ".join(parts) or "—"
