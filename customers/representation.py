"""The Voucherify customer object, built from a row (and its precomputed summaries) without extra queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from customers.models import BulkImport, Customer, CustomEvent, Order
from tenancy.formats import iso
from tenancy.models import Project


def _empty_redemptions() -> dict[str, Any]:
    return {
        "total_redeemed": 0,
        "total_failed": 0,
        "total_succeeded": 0,
        "total_rolled_back": 0,
        "total_rollback_failed": 0,
        "total_rollback_succeeded": 0,
        "gift": {"redeemed_amount": 0, "amount_to_go": 0},
        "loyalty_card": {"redeemed_points": 0, "points_to_go": 0},
    }


def customer_summary(customer: Customer, redemptions: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "redemptions": redemptions or _empty_redemptions(),
        "orders": {
            "total_amount": customer.orders_total_amount,
            "total_count": customer.orders_count,
            "average_amount": customer.orders_total_amount // customer.orders_count
            if customer.orders_count
            else 0,
            "last_order_amount": customer.last_order_amount,
            "last_order_date": iso(customer.last_order_at),
        },
    }


def customer_object(customer: Customer, summary: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`summary`: the customer's entry of `campaigns.customer_summaries` (redemptions, referrals,
    referred customers), computed by the caller for all the customers of a response at once; without
    it those parts are empty (a customer just created has none)."""
    summary = summary or {}
    from messaging.cockpit import cockpit_url_of  # messaging's pages import the customers app

    cockpit = cockpit_url_of(customer)
    return {
        "id": customer.public_id,
        "source_id": customer.source_id,
        "name": customer.name or None,
        "description": customer.description or None,
        "email": customer.email,
        "phone": customer.phone,
        "birthdate": customer.birthdate.isoformat() if customer.birthdate else None,
        "address": customer.address,
        "summary": customer_summary(customer, summary.get("redemptions")),
        "loyalty": {"points": 0, "referred_customers": summary.get("referred_customers", 0), "campaigns": {}},
        "referrals": summary.get("referrals") or {"total": 0, "campaigns": []},
        "metadata": customer.metadata,
        "system_metadata": customer.system_metadata,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
        "assets": {"cockpit_url": cockpit, "cockpit_preference_center_url": f"{cockpit}#preferences"},
        "object": "customer",
    }


def customer_objects(*, project: Project, customers: Sequence[Customer]) -> list[dict[str, Any]]:
    """Customer objects with their redemption and referral summaries: four queries for the lot
    (none for no customers), whatever their number."""
    from campaigns.customer_summaries import customer_summaries  # campaigns builds on customers

    summaries = customer_summaries(project=project, customer_ids=[customer.pk for customer in customers])
    return [customer_object(customer, summaries.get(customer.pk)) for customer in customers]


def _order_item(item: dict[str, Any]) -> dict[str, Any]:
    amount = item.get("amount") or 0
    discount = item.get("discount_amount") or 0
    return {
        **item,
        "object": "order_item",
        "applied_discount_amount": 0,
        "applied_discount_quantity": 0,
        "applied_quantity": 0,
        "applied_quantity_amount": 0,
        "subtotal_amount": amount - discount,
    }


def order_object(order: Order) -> dict[str, Any]:
    """The Voucherify order. Applied discounts stay zero until redemptions apply them to orders."""
    amount = order.amount or 0
    discount = order.discount_amount or 0
    items_discount = sum(item.get("discount_amount") or 0 for item in order.items)
    customer = order.customer
    referrer = order.referrer
    return {
        "id": order.public_id,
        "source_id": order.source_id,
        "object": "order",
        "status": order.status,
        "amount": order.amount,
        "initial_amount": order.initial_amount,
        "discount_amount": order.discount_amount,
        "items_discount_amount": items_discount,
        "total_discount_amount": discount + items_discount,
        "total_amount": amount - discount - items_discount,
        "applied_discount_amount": 0,
        "items_applied_discount_amount": 0,
        "total_applied_discount_amount": 0,
        "items": [_order_item(item) for item in order.items],
        "metadata": order.metadata,
        "customer_id": customer.public_id if customer else None,
        "customer": {"id": customer.public_id, "object": "customer"} if customer else None,
        "referrer_id": referrer.public_id if referrer else None,
        "referrer": {"id": referrer.public_id, "object": "customer"} if referrer else None,
        "redemptions": {},
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
    }


def custom_event_object(event: CustomEvent) -> dict[str, Any]:
    customer = event.customer
    return {
        "object": "event",
        "type": event.name,
        "customer": {
            "id": customer.public_id,
            "source_id": customer.source_id,
            "name": customer.name or None,
            "email": customer.email,
            "metadata": customer.metadata,
            "object": "customer",
        },
        "referral": event.referral,
        "loyalty": event.loyalty,
        "metadata": event.metadata,
    }


def bulk_import_async_action(bulk_import: BulkImport) -> dict[str, Any]:
    return {
        "id": bulk_import.public_id,
        "type": "CUSTOMERS_BULK_UPDATE",
        "status": bulk_import.status,
        "result": {
            "total": bulk_import.total,
            "created": bulk_import.created_count,
            "updated": bulk_import.updated_count,
            "failed": bulk_import.failed_count,
            "errors": bulk_import.errors,
        },
        "created_at": iso(bulk_import.created_at),
        "updated_at": iso(bulk_import.finished_at),
        "object": "async_action",
    }
