"""Small readers shared by the customer API tests."""

from __future__ import annotations

from typing import Any

from eventbus.models import DomainEvent
from messaging.cockpit import cockpit_url_of
from tenancy.formats import iso

ZERO_SUMMARY = {
    "redemptions": {
        "total_redeemed": 0,
        "total_failed": 0,
        "total_succeeded": 0,
        "total_rolled_back": 0,
        "total_rollback_failed": 0,
        "total_rollback_succeeded": 0,
        "gift": {"redeemed_amount": 0, "amount_to_go": 0},
        "loyalty_card": {"redeemed_points": 0, "points_to_go": 0},
    },
    "orders": {
        "total_amount": 0,
        "total_count": 0,
        "average_amount": 0,
        "last_order_amount": 0,
        "last_order_date": None,
    },
}

EMPTY_ADDRESS = {
    "city": None,
    "state": None,
    "line_1": None,
    "line_2": None,
    "country": None,
    "postal_code": None,
}


def events_of(project) -> list[tuple[str, str | None]]:
    """The project's events in publishing order, as (type, customer public id)."""
    return [
        (event.type, event.customer.public_id if event.customer else None)
        for event in DomainEvent.objects.for_project(project).select_related("customer").order_by("pk")
    ]


def expected_customer(customer, **overrides: Any) -> dict[str, Any]:
    """The Voucherify customer object for a stored customer (fresh from the database)."""
    cockpit = cockpit_url_of(customer)
    body = {
        "id": customer.public_id,
        "source_id": customer.source_id,
        "name": customer.name or None,
        "description": customer.description or None,
        "email": customer.email,
        "phone": customer.phone,
        "birthdate": customer.birthdate.isoformat() if customer.birthdate else None,
        "address": customer.address,
        "summary": ZERO_SUMMARY,
        "loyalty": {"points": 0, "referred_customers": 0, "campaigns": {}},
        "referrals": {"total": 0, "campaigns": []},
        "metadata": customer.metadata,
        "system_metadata": {},
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
        "assets": {"cockpit_url": cockpit, "cockpit_preference_center_url": f"{cockpit}#preferences"},
        "object": "customer",
    }
    body.update(overrides)
    return body
