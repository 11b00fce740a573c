from __future__ import annotations

from customers.models import Customer, CustomerQuerySet
from tenancy.models import Project


def customer_get(*, project: Project, identifier: str) -> Customer | None:
    """The project's customer with this id or source_id; None for a missing or another project's one."""
    customers: CustomerQuerySet = Customer.objects.for_project(project)
    return customers.by_id_or_source_id(identifier).first()
