"""Every write to customers: one transaction each, publishing `customer.*` events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import Customer
from eventbus.services import publish
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


@transaction.atomic
def customer_upsert(*, project: Project, fields: Mapping[str, Any]) -> tuple[Customer, bool]:
    """Create a customer, or update the one named by `id` or `source_id` (Voucherify's create is an upsert).

    Returns the customer and whether it was created.
    """
    values = _column_values(fields)
    customers = Customer.objects.for_project(project)
    public_id, source_id = fields.get("id"), fields.get("source_id")
    existing = None
    if public_id:
        existing = customers.select_for_update().filter(public_id=public_id).first()
        if existing is None:
            raise CustomerNotFound(public_id)
    elif source_id:
        existing = customers.select_for_update().filter(source_id=source_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                customer = Customer.objects.create(
                    project=project, public_id=new_public_id("cust", 24), source_id=source_id, **values
                )
        except IntegrityError:
            # A concurrent request created the same source_id first: update that one instead.
            existing = customers.select_for_update().get(source_id=source_id)
        else:
            publish(project, "customer.created", customer=customer)
            return customer, True
    _update(project, existing, values)
    return existing, False


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
