"""What the sending tests share: a webhook channel to a real receiver, distributions ready to send,
and playing the event bus in-process (`dispatch_all`) where no worker is under test."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from distributions import services
from distributions.models import Distribution
from eventbus.dispatch import dispatch
from eventbus.models import DomainEvent
from messaging.models import Message

PAYLOAD = {
    "customer": "{{customer.id}}",
    "code": "{{voucher.code}}",
    "key": "{{message.id}}",
    "event": "{{event.id}}",
}


def webhook_channel(endpoint, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "kind": "webhook",
        "settings": {"endpoint": endpoint.public_id},
        "template": {"event_name": "distribution.test", "payload": payload or PAYLOAD},
    }


def manual_segmentless(customer, campaign, endpoint, **extra: Any) -> dict[str, Any]:
    """A manual distribution publishing a code of `campaign` to one customer by webhook."""
    return {
        "name": "Code for one",
        "trigger": {"key": "manual"},
        "audience": {"type": "customer", "customer": customer.public_id},
        "action": {"key": "publish_codes", "params": {"campaign": campaign.public_id}},
        "channels": [webhook_channel(endpoint)],
        **extra,
    }


def automatic(trigger: str, endpoint, *, params=None, action=None, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"On {trigger}",
        "trigger": {"key": trigger, "params": params or {}},
        "action": action or {"key": "plain_message"},
        "channels": [webhook_channel(endpoint)],
        **extra,
    }


def create_and_send(project, fields: dict[str, Any]) -> Distribution:
    distribution = services.distribution_create(project=project, fields=fields)
    return services.distribution_send(project=project, distribution=distribution)


def make_due(project, distribution: Distribution) -> None:
    """Skip the 10-minute wait (for tests that are not about it)."""
    Distribution.objects.for_project(project).filter(pk=distribution.pk).update(
        send_at=timezone.now() - timedelta(seconds=1)
    )


def dispatch_all(project) -> int:
    """Run the handlers of every pending event, including the events they cause, as a worker would."""
    handled = 0
    for _ in range(10):
        pending = list(
            DomainEvent.objects.for_project(project)
            .filter(completed_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not pending:
            return handled
        for event_id in pending:
            dispatch(event_id)
            handled += 1
    return handled


def messages_of(project, distribution: Distribution):
    distribution.refresh_from_db()
    return Message.objects.for_project(project).filter(stream__public_id=distribution.stream_public_id)
