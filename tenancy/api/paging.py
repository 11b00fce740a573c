"""Voucherify's list envelope and its `limit` / `page` paging."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request

from tenancy.api.errors import invalid_query_params

MAX_LIMIT = 100


def int_param(request: Request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_query_params(f"Query parameter {name} must be an integer, got {raw!r}.") from None
    if not minimum <= value <= maximum:
        raise invalid_query_params(
            f"Query parameter {name} must be between {minimum} and {maximum}, got {value}."
        )
    return value


def page_of(request: Request, queryset: QuerySet, *, max_page: int = 100) -> tuple[list[Any], int, bool]:
    """One page of `queryset` and the total count; `has_more` tells whether a next page exists."""
    limit = int_param(request, "limit", default=10, minimum=1, maximum=MAX_LIMIT)
    page = int_param(request, "page", default=1, minimum=1, maximum=max_page)
    offset = (page - 1) * limit
    rows = list(queryset[offset : offset + limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not has_more and (rows or page == 1):
        total = offset + len(rows)
    else:
        total = queryset.count()
    return rows, total, has_more


def list_envelope(data_ref: str, items: list[Any], total: int, **extra: Any) -> dict[str, Any]:
    return {"object": "list", "data_ref": data_ref, data_ref: items, "total": total, **extra}
