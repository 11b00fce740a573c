"""The Voucherify customer object, built from a row without extra queries."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from customers.models import Customer
from tenancy.formats import iso


def empty_summary() -> dict[str, Any]:
    return {
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


def customer_object(customer: Customer) -> dict[str, Any]:
    cockpit = f"{settings.SITE_URL}/cockpit/{customer.public_id}"
    return {
        "id": customer.public_id,
        "source_id": customer.source_id,
        "name": customer.name or None,
        "description": customer.description or None,
        "email": customer.email,
        "phone": customer.phone,
        "birthdate": customer.birthdate.isoformat() if customer.birthdate else None,
        "address": customer.address,
        "summary": empty_summary(),
        "loyalty": {"points": 0, "referred_customers": 0, "campaigns": {}},
        "referrals": {"total": 0, "campaigns": []},
        "metadata": customer.metadata,
        "system_metadata": customer.system_metadata,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
        "assets": {"cockpit_url": cockpit, "cockpit_preference_center_url": f"{cockpit}/preferences"},
        "object": "customer",
    }
