"""Customers' consent per channel: what they chose, and who is suppressed at delivery time.

No row means subscribed (the business collected consent before it imported its customers); a row
records the last choice and where it came from. Delivery reads it once per batch, with the batch's
messages (messaging/delivery.py, the same rule as `unsubscribed_customer_ids`), so an unsubscribe
that happens after materialisation still holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Now

from customers.models import Customer
from eventbus.services import publish
from messaging.channels import CHANNEL_CLASSES
from messaging.models import CustomerConsent
from tenancy.models import Project

# Every channel a customer can be reached on, including those whose plug-ins other apps register.
CONSENT_CHANNELS: tuple[str, ...] = tuple(sorted({"email", "sms", *CHANNEL_CLASSES}))
CONSENTS_GIVEN = "customer.consents.given"
CONSENTS_REVOKED = "customer.consents.revoked"
UNSUBSCRIBED_REASON = "Unsubscribed from this channel."

Subscribed, Unsubscribed = CustomerConsent.State.SUBSCRIBED, CustomerConsent.State.UNSUBSCRIBED


@dataclass(frozen=True)
class ConsentView:
    channel: str
    state: str
    source: str
    changed_at: datetime | None


def customer_consents(*, project: Project, customer: Customer) -> list[ConsentView]:
    """One entry per channel, the default (subscribed, never changed) where no choice was recorded."""
    recorded = {
        consent.channel: consent
        for consent in CustomerConsent.objects.for_project(project).filter(customer=customer)
    }
    views = []
    for channel in sorted({*CONSENT_CHANNELS, *recorded}):
        consent = recorded.get(channel)
        if consent is None:
            views.append(ConsentView(channel, Subscribed, "", None))
        else:
            views.append(ConsentView(channel, consent.state, consent.source, consent.changed_at))
    return views


def unsubscribed_customer_ids(*, project: Project, channel: str, customer_ids: Iterable[int]) -> set[int]:
    """Which of these customers have unsubscribed from `channel` (one query, for a delivery batch)."""
    return set(
        CustomerConsent.objects.for_project(project)
        .filter(channel=channel, state=Unsubscribed, customer_id__in=list(customer_ids))
        .values_list("customer_id", flat=True)
    )


def _check(changes: Mapping[str, str]) -> None:
    errors = {}
    for channel, state in changes.items():
        if channel not in CONSENT_CHANNELS:
            errors[channel] = f"Unknown channel; known: {', '.join(CONSENT_CHANNELS)}."
        elif state not in CustomerConsent.State.values:
            errors[channel] = "must be 'subscribed' or 'unsubscribed'"
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def customer_consents_set(
    *, project: Project, customer: Customer, changes: Mapping[str, str], source: str
) -> list[str]:
    """Record the customer's choices (channel → state); returns the channels whose state changed.

    A choice equal to the current one changes nothing and publishes nothing. Raises
    `ValidationError` for an unknown channel or state, before anything is written.
    """
    _check(changes)
    if customer.project_id != project.pk:
        raise ValueError("The customer must belong to the project.")
    current = {
        consent.channel: consent
        for consent in CustomerConsent.objects.for_project(project)
        .select_for_update()
        .filter(customer=customer, channel__in=list(changes))
    }
    given, revoked = [], []
    for channel, state in sorted(changes.items()):
        consent = current.get(channel)
        if (consent.state if consent else Subscribed) == state:
            continue
        if consent is None:
            CustomerConsent.objects.create(
                project=project, customer=customer, channel=channel, state=state, source=source
            )
        else:
            CustomerConsent.objects.for_project(project).filter(pk=consent.pk).update(
                state=state, source=source, changed_at=Now()
            )
        (given if state == Subscribed else revoked).append(channel)
    for event_type, channels in ((CONSENTS_GIVEN, given), (CONSENTS_REVOKED, revoked)):
        if channels:
            publish(
                project,
                event_type,
                customer=customer,
                data={"channels": channels, "source": source},
            )
    return given + revoked


def unsubscribed_skips_count(*, project: Project, stream) -> int:
    """How many of a stream's messages were skipped because the customer had unsubscribed."""
    from messaging.models import Message

    return (
        Message.objects.for_project(project)
        .filter(stream=stream, state=Message.State.SKIPPED, last_error=UNSUBSCRIBED_REASON)
        .count()
    )
