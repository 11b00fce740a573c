"""What distribution tests share: request bodies, a complete distribution, and "nothing changed"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from distributions.models import Distribution, DistributionActivity, DistributionChannel
from tests.campaigns.support import campaigns_state

WEBHOOK = {"kind": "webhook", "settings": {"url": "https://93.184.216.34/in"}}
EMAIL = {
    "kind": "email",
    "template": {"subject": "Hello {{customer.name}}", "body": "Your code: {{voucher.code}}"},
}
SMS = {"kind": "sms", "template": {"body": "Your code: {{voucher.code}}"}}


def manual_publish_codes(customer_id: str, campaign_id: str, **extra: Any) -> dict[str, Any]:
    """A complete manual distribution: publish a code of the campaign to one customer by email."""
    return {
        "name": "Welcome code",
        "trigger": {"key": "manual"},
        "audience": {"type": "customer", "customer": customer_id},
        "action": {"key": "publish_codes", "params": {"campaign": campaign_id}},
        "channels": [EMAIL],
        **extra,
    }


def automatic_order_paid(**extra: Any) -> dict[str, Any]:
    """A complete automatic distribution: a plain message by webhook when an order is paid."""
    return {
        "name": "Thanks for paying",
        "trigger": {"key": "order_paid"},
        "action": {"key": "plain_message"},
        "channels": [WEBHOOK],
        **extra,
    }


def distributions_state() -> dict[str, list[Any]]:
    return {
        **campaigns_state(),
        "distributions": list(Distribution.objects.unscoped().order_by("pk").values()),
        "channels": list(DistributionChannel.objects.unscoped().order_by("pk").values()),
        "activities": list(DistributionActivity.objects.unscoped().order_by("pk").values()),
    }


@contextmanager
def nothing_changes() -> Iterator[None]:
    """Then: no distribution, channel, activity line, event, campaign or customer changed."""
    before = distributions_state()
    yield
    assert distributions_state() == before
