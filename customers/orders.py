"""Order writes: one transaction each, one event per change, and the customer's orders summary.

Creating an order publishes `customer.order.created`, and also `customer.order.paid` or
`customer.order.canceled` when it arrives in that state (a shop often sends orders already paid).
A later change publishes exactly one event: `.paid` or `.canceled` for a move into that status,
`.updated` for any other change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer, Order
from customers.selectors import customer_get
from customers.services import CustomerNotFound, customer_upsert
from eventbus.services import publish
from tenancy import rows
from tenancy.ids import new_public_id
from tenancy.models import Project

STATUS_EVENTS = {Order.Status.PAID: "customer.order.paid", Order.Status.CANCELED: "customer.order.canceled"}
ORDER_FIELDS = ("status", "amount", "initial_amount", "discount_amount", "items", "metadata", "created_at")


class OrderNotFound(Exception):
    def __init__(self, identifier: str) -> None:
        super().__init__(identifier)
        self.identifier = identifier


def _resolve_people(
    project: Project, fields: Mapping[str, Any], customer: Customer | None = None
) -> dict[str, Customer]:
    """Upsert the embedded `customer` (or take the one the caller resolved already) and resolve
    `referrer` / `referrer_id` to customers."""
    people: dict[str, Customer] = {}
    # No savepoints: a missing customer ends the order's transaction (or savepoint) anyway.
    if fields.get("customer"):
        people["customer"], _ = customer_upsert(project=project, fields=fields["customer"], savepoint=False)
    elif customer is not None:
        people["customer"] = customer
    if fields.get("referrer"):
        people["referrer"], _ = customer_upsert(project=project, fields=fields["referrer"], savepoint=False)
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


def order_upsert(
    *,
    project: Project,
    fields: Mapping[str, Any],
    customer: Customer | None = None,
    savepoint: bool = True,
) -> tuple[Order, bool]:
    """Create an order, or update the one named by `id` or `source_id`. Returns (order, created).

    `customer` is the order's customer when `fields` embed none (a caller that resolved it already).
    Inside a caller's transaction it runs in a savepoint unless told `savepoint=False`, for callers
    that let any error end their transaction.
    """
    with transaction.atomic(savepoint=savepoint):
        return _upsert(project, fields, customer)


def _upsert(project: Project, fields: Mapping[str, Any], customer: Customer | None) -> tuple[Order, bool]:
    public_id, source_id = fields.get("id"), fields.get("source_id")
    if public_id:
        existing = _locked_by(project, "public_id", public_id)
        if existing is None:
            raise OrderNotFound(public_id)
        return _update(project, existing, fields, customer), False
    if source_id:
        existing = _locked_by(project, "source_id", source_id)
        if existing is not None:
            return _update(project, existing, fields, customer), False
    people = _resolve_people(project, fields, customer)
    sent = {name: fields[name] for name in ORDER_FIELDS if fields.get(name) is not None}
    values = _with_computed_amounts(sent, is_new=True)
    order = Order(project=project, source_id=source_id, **people, **values)
    order.public_id = new_public_id("ord", 24)
    if not _insert_unless_taken(order):
        # A concurrent request created the same source_id first: this request updates it instead.
        winner = _locked_by(project, "source_id", source_id)
        if winner is None:  # deleted again before we could lock it: the source_id is free once more
            return _upsert(project, fields, customer)
        return _update(project, winner, fields, customer), False
    publish(project, "customer.order.created", customer=order.customer, refs={"order": order})
    if order.status in STATUS_EVENTS:
        publish(project, STATUS_EVENTS[order.status], customer=order.customer, refs={"order": order})
    refresh_orders_summary(project, {order.customer_id})
    return order, True


def _locked_by(project: Project, column: str, value: str) -> Order | None:
    return rows.locked_by(Order, project, column, value)


def _insert_unless_taken(order: Order) -> bool:
    return rows.insert_unless_conflict(order)


@transaction.atomic
def order_update(*, project: Project, order: Order, fields: Mapping[str, Any]) -> Order:
    """Change only the fields given, publishing one event for the change (none if nothing changed)."""
    locked = Order.objects.for_project(project).select_for_update().get(pk=order.pk)
    return _update(project, locked, fields)


def _update(
    project: Project, locked: Order, fields: Mapping[str, Any], customer: Customer | None = None
) -> Order:
    """`order_update` of an order this transaction has locked already."""
    previous_status, previous_customer = locked.status, locked.customer_id
    people = _resolve_people(project, fields, customer)
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
