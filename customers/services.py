"""Every write to customers: one transaction each, publishing `customer.*` events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from eventbus.services import publish
from tenancy import rows
from tenancy.ids import new_public_id
from tenancy.models import Project

# Request fields and the columns they fill; `address` is spread over the address_* columns.
SCALAR_FIELDS = ("name", "description", "email", "phone", "birthdate", "metadata")


class CustomerNotFound(Exception):
    def __init__(self, identifier: str) -> None:
        super().__init__(identifier)
        self.identifier = identifier


def _column_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in SCALAR_FIELDS:
        if name in fields:
            value = fields[name]
            if name in ("name", "description") and value is None:
                value = ""
            if name == "metadata" and value is None:
                value = {}
            values[name] = value
    for name, value in (fields.get("address") or {}).items():
        values[f"address_{name}"] = value
    return values


def _apply(customer: Customer, values: Mapping[str, Any]) -> list[str]:
    changed = [name for name, value in values.items() if getattr(customer, name) != value]
    for name in changed:
        setattr(customer, name, values[name])
    return changed


def customer_upsert(
    *, project: Project, fields: Mapping[str, Any], savepoint: bool = True
) -> tuple[Customer, bool]:
    """Create a customer, or update the one named by `id` or `source_id` (Voucherify's create is an upsert).

    Returns the customer and whether it was created. Inside a caller's transaction it runs in a
    savepoint unless told `savepoint=False`, for callers that let any error end their transaction.
    """
    with transaction.atomic(savepoint=savepoint):
        return _upsert(project, fields)


def _upsert(project: Project, fields: Mapping[str, Any]) -> tuple[Customer, bool]:
    values = _column_values(fields)
    public_id, source_id = fields.get("id"), fields.get("source_id")
    if public_id:
        existing = _locked_by(project, "public_id", public_id)
        if existing is None:
            raise CustomerNotFound(public_id)
    elif source_id:
        existing = _locked_by(project, "source_id", source_id)
        if existing is None:
            existing, created = _insert_unless_taken(project, source_id, values)
            if created:
                publish(project, "customer.created", customer=existing)
                return existing, True
    else:
        customer = Customer.objects.create(project=project, public_id=new_public_id("cust", 24), **values)
        publish(project, "customer.created", customer=customer)
        return customer, True
    _update(project, existing, values)
    return existing, False


# The upsert by source_id is the integrations' busiest write, so its statements are written out
# (tenancy.rows) rather than compiled from querysets on every request.


def _locked_by(project: Project, column: str, value: str) -> Customer | None:
    return rows.locked_by(Customer, project, column, value)


def _insert_unless_taken(
    project: Project, source_id: str, values: Mapping[str, Any]
) -> tuple[Customer, bool]:
    """Insert a customer with `source_id`, or, when a concurrent request inserted one first, wait for
    that request to commit and return its customer, locked. The flag says which happened."""
    customer = Customer(project=project, public_id=new_public_id("cust", 24), source_id=source_id, **values)
    if rows.insert_unless_conflict(customer):
        return customer, True
    winner = _locked_by(project, "source_id", source_id)
    if winner is None:  # deleted again before we could lock it: the source_id is free once more
        return _insert_unless_taken(project, source_id, values)
    return winner, False


def _update(project: Project, customer: Customer, values: Mapping[str, Any]) -> None:
    changed = _apply(customer, values)
    if not changed:
        return
    customer.updated_at = timezone.now()
    customer.save(update_fields=[*changed, "updated_at"])
    publish(project, "customer.updated", customer=customer, data={"changed_fields": sorted(changed)})


@transaction.atomic
def customer_update(*, project: Project, customer: Customer, fields: Mapping[str, Any]) -> Customer:
    """Change only the fields given; fields not sent stay as they are."""
    locked = Customer.objects.for_project(project).select_for_update().get(pk=customer.pk)
    _update(project, locked, _column_values(fields))
    return locked


@transaction.atomic
def customer_delete(*, project: Project, customer: Customer) -> None:
    from customers.representation import customer_object

    publish(project, "customer.deleted", customer=customer, data={"customer": customer_object(customer)})
    Customer.objects.for_project(project).filter(pk=customer.pk).delete()
