"""Custom events: what a customer did, tracked by the shop and stored with its time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from campaigns.referrals import referral_record_from_event
from customers.models import CustomEvent, EventDefinition
from customers.services import customer_upsert
from eventbus.services import publish
from tenancy.ids import new_public_id
from tenancy.models import Project


@transaction.atomic
def custom_event_track(
    *,
    project: Project,
    name: str,
    customer_fields: Mapping[str, Any],
    metadata: Mapping[str, Any] | None = None,
    referral: Mapping[str, Any] | None = None,
    loyalty: Mapping[str, Any] | None = None,
) -> CustomEvent:
    """Record the event for the (upserted) customer and publish `customer.custom_event`.

    An event name the project has not seen before defines it, so the wizard can offer it.
    """
    customer, _ = customer_upsert(project=project, fields=customer_fields)
    EventDefinition.objects.bulk_create([EventDefinition(project=project, name=name)], ignore_conflicts=True)
    event = CustomEvent.objects.create(
        project=project,
        public_id=new_public_id("evcus", 24),
        name=name,
        customer=customer,
        metadata=dict(metadata or {}),
        referral=dict(referral) if referral else None,
        loyalty=dict(loyalty) if loyalty else None,
    )
    publish(
        project,
        "customer.custom_event",
        customer=customer,
        refs={"custom_event": event},
        data={
            "event": name,
            "metadata": event.metadata,
            "referral": event.referral,
            "loyalty": event.loyalty,
        },
    )
    if event.referral:
        referral_record_from_event(project=project, event=event)
    return event
