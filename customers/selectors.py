from __future__ import annotations

from customers.models import Customer, CustomerQuerySet, EventDefinition
from tenancy.models import Project


def customer_get(*, project: Project, identifier: str) -> Customer | None:
    """The project's customer with this id or source_id; None for a missing or another project's one."""
    customers: CustomerQuerySet = Customer.objects.for_project(project)
    return customers.by_id_or_source_id(identifier).first()


def event_definitions(*, project: Project) -> list[EventDefinition]:
    """The custom event names the project knows, for the distribution wizard's pickers."""
    return list(EventDefinition.objects.for_project(project).order_by("name"))
