"""Order writes: one transaction each, one event per change, and the customer's orders summary.

Creating an order publishes `customer.order.created`, and also `customer.order.paid` or
`customer.order.canceled` when it arrives in that state (a shop often sends orders already paid).
A later change publishes exactly one event: `.paid` or `.canceled` for a move into that status,
`.updated` for any other change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from customers.models import Customer, Order
from customers.selectors import customer_get
from customers.services import CustomerNotFound, customer_upsert
from eventbus.services import publish
from tenancy.ids import new_public_id
from tenancy.models import Project

STATUS_EVENTS = {Order.Status.PAID: "customer.order.paid", Order.Status.CANCELED: "customer.order.canceled"}
ORDER_FIELDS = ("status", "amount", "initial_amount", "discount_amount", "items", "metadata", "created_at")


class OrderNotFound(Exception):
    def __init__(self, identifier: str) -> None:
        super().__init__(identifier)
        self.identifier = identifier


def _resolve_people(project: Project, fields: Mapping[str, Any]) -> dict[str, Customer]:
    """Upsert the embedded `customer` and resolve `referrer` / `referrer_id` to customers."""
    people: dict[str, Customer] = {}
    if fields.get("customer"):
        people["customer"], _ = customer_upsert(project=project, fields=fields["customer"])
    if fields.get("referrer"):
        people["referrer"], _ = customer_upsert(project=project, fields=fields["referrer"])
    elif fields.get("referrer_id"):
        referrer = customer_get(project=project, identifier=fields["referrer_id"])
        if referrer is None:
            raise CustomerNotFound(fields["referrer_id"])
        people["referrer"] = referrer
    return people


def _with_computed_amounts(values: dict[str, Any], *, is_new: bool) -> dict[str, Any]:
    """Voucherify fills the order amount from its items when the caller leaves it out; a new order's
    initial amount defaults to its amount (an update keeps the initial amount unless it is sent)."""
    items = values.get("items")
    if items is not None:
        for item in items:
            price, quantity = item.get("price"), item.get("quantity")
            if item.get("amount") is None and price is not None and quantity is not None:
                item["amount"] = price * quantity
        if values.get("amount") is None:
            values["amount"] = sum(item.get("amount") or 0 for item in items)
    if is_new and values.get("amount") is not None and values.get("initial_amount") is None:
        values["initial_amount"] = values["amount"]
    return values


@transaction.atomic
def order_upsert(*, project: Project, fields: Mapping[str, Any]) -> tuple[Order, bool]:
    """Create an order, or update the one named by `id` or `source_id`. Returns (order, created)."""
    orders = Order.objects.for_project(project)
    public_id, source_id = fields.get("id"), fields.get("source_id")
    if public_id:
        existing = orders.select_for_update().filter(public_id=public_id).first()
        if existing is None:
            raise OrderNotFound(public_id)
        return order_update(project=project, order=existing, fields=fields), False
    if source_id:
        existing = orders.select_for_update().filter(source_id=source_id).first()
        if existing is not None:
            return order_update(project=project, order=existing, fields=fields), False
    people = _resolve_people(project, fields)
    sent = {name: fields[name] for name in ORDER_FIELDS if fields.get(name) is not None}
    values = _with_computed_amounts(sent, is_new=True)
    try:
        with transaction.atomic():
            order = Order.objects.create(
                project=project, public_id=new_public_id("ord", 24), source_id=source_id, **people, **values
            )
    except IntegrityError:
        # A concurrent request created the same source_id first: this request updates it instead.
        existing = orders.select_for_update().get(source_id=source_id)
        return order_update(project=project, order=existing, fields=fields), False
    publish(project, "customer.order.created", customer=order.customer, refs={"order": order})
    if order.status in STATUS_EVENTS:
        publish(project, STATUS_EVENTS[order.status], customer=order.customer, refs={"order": order})
    refresh_orders_summary(project, {order.customer_id})
    return order, True


@transaction.atomic
def order_update(*, project: Project, order: Order, fields: Mapping[str, Any]) -> Order:
    """Change only the fields given, publishing one event for the change (none if nothing changed)."""
    locked = Order.objects.for_project(project).select_for_update().get(pk=order.pk)
    previous_status, previous_customer = locked.status, locked.customer_id
    people = _resolve_people(project, fields)
    values = _with_computed_amounts(
        {name: fields[name] for name in ORDER_FIELDS if name in fields}, is_new=False
    )
    if "metadata" in values and values["metadata"] is None:
        values["metadata"] = {}  # `metadata: null` clears it, as for customers
    changed = [name for name, value in {**values, **people}.items() if getattr(locked, name) != value]
    if not changed:
        return locked
    for name in changed:
        setattr(locked, name, {**values, **people}[name])
    locked.updated_at = timezone.now()
    locked.save(update_fields=[*changed, "updated_at"])
    if locked.status != previous_status and locked.status in STATUS_EVENTS:
        event_type = STATUS_EVENTS[locked.status]
    else:
        event_type = "customer.order.updated"
    publish(
        project,
        event_type,
        customer=locked.customer,
        refs={"order": locked},
        data={"changed_fields": sorted(changed), "previous_status": previous_status},
    )
    refresh_orders_summary(project, {previous_customer, locked.customer_id})
    return locked


SUMMARY_SQL = """
UPDATE customers_customer AS c SET
    orders_count = s.order_count,
    orders_total_amount = s.total_amount,
    last_order_amount = s.last_amount,
    last_order_at = s.last_at
FROM (
    SELECT c2.id AS customer_id,
           count(o.id) AS order_count,
           coalesce(sum(o.amount), 0) AS total_amount,
           coalesce(
               (array_agg(coalesce(o.amount, 0) ORDER BY o.created_at DESC, o.id DESC))[1], 0
           ) AS last_amount,
           max(o.created_at) AS last_at
    FROM customers_customer c2
    LEFT JOIN customers_order o
        ON o.project_id = c2.project_id AND o.customer_id = c2.id AND o.status <> 'CANCELED'
    WHERE c2.project_id = %(project_id)s AND c2.id = ANY(%(customer_ids)s)
    GROUP BY c2.id
) AS s
WHERE c.id = s.customer_id
"""


def refresh_orders_summary(project: Project, customer_ids: set[int | None]) -> None:
    """Recompute the summary from the orders themselves (one statement), never `count += 1`."""
    ids = sorted(customer_id for customer_id in customer_ids if customer_id is not None)
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(SUMMARY_SQL, {"project_id": project.pk, "customer_ids": ids})
