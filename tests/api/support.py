"""What every API test checks: Voucherify's error body, and that a refused request changed nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from customers.models import BulkImport, Customer
from eventbus.models import DomainEvent
from tenancy.models import ApiKey, IdempotencyRecord

REQUEST_ID = re.compile(r"^v-[0-9a-f]{18}$")


def assert_error(
    response: Any,
    status: int,
    key: str,
    *,
    message: str | None = None,
    details: str | None = None,
) -> dict[str, Any]:
    """The response is Voucherify's error body for `status`; returns the body for further checks."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert type(body["code"]) is int
    assert body["code"] == status
    assert body["key"] == key
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], str) and body["details"]
    assert REQUEST_ID.match(body["request_id"]), body["request_id"]
    if message is not None:
        assert body["message"] == message
    if details is not None:
        assert body["details"] == details
    return body


def database_state() -> dict[str, list[Any]]:
    """Every row an API request could write, across all projects (tests may look past tenancy)."""
    return {
        "customers": list(Customer.objects.unscoped().order_by("pk").values()),
        "events": list(
            DomainEvent.objects.unscoped().order_by("pk").values_list("pk", "type", "customer_id")
        ),
        "bulk_imports": list(BulkImport.objects.unscoped().order_by("pk").values()),
        "idempotency_records": list(
            IdempotencyRecord.objects.order_by("pk").values_list("pk", "key", "is_complete", "status_code")
        ),
        # last_used_at is left out: a refused request with valid keys still used them.
        "api_keys": list(ApiKey.objects.order_by("pk").values_list("pk", "app_id", "revoked_at")),
    }


@contextmanager
def nothing_changes() -> Iterator[None]:
    """Then: no customer, event, import, idempotency record or API key was created, updated or deleted."""
    before = database_state()
    yield
    assert database_state() == before
