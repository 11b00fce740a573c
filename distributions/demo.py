"""Demo distributions for `seed_demo` (the lead wires `seed_distributions(project)` in).

Idempotent: each is looked up by name and created only when missing. Built through the services, so
the history (activity log, `distribution.*` events) is what a marketer's clicks would have left.
"""

from __future__ import annotations

from django.utils import timezone

from campaigns.models import Campaign
from customers.models import Customer
from distributions import services
from distributions.models import Distribution
from tenancy.models import Project

LIVE_NAME = "Thank you for your order"
SENT_NAME = "Welcome message"
WELCOME_CAMPAIGN = "Welcome 10% off"
EMAIL = {
    "kind": "email",
    "template": {"subject": "Thank you, {{customer.name}}", "body": "Here is {{code}} for your next order."},
}


def _exists(project: Project, name: str) -> bool:
    return Distribution.objects.for_project(project).filter(name=name).exists()


def seed_distributions(project: Project) -> list[Distribution]:
    """A live automatic distribution (order paid → a welcome code by email) and a sent manual one."""
    created = []
    if not _exists(project, LIVE_NAME):
        campaign = Campaign.objects.for_project(project).filter(name=WELCOME_CAMPAIGN).first()
        action = (
            {"key": "publish_codes", "params": {"campaign": campaign.public_id}}
            if campaign is not None
            else {"key": "plain_message"}
        )
        # After merge: add the validation rule "paid above $99" and a webhook channel to the sandbox.
        live = services.distribution_create(
            project=project,
            fields={
                "name": LIVE_NAME,
                "trigger": {"key": "order_paid"},
                "action": action,
                "channels": [EMAIL],
            },
        )
        created.append(services.distribution_send(project=project, distribution=live))
    customer = Customer.objects.for_project(project).order_by("created_at", "pk").first()
    if customer is not None and not _exists(project, SENT_NAME):
        manual = services.distribution_create(
            project=project,
            fields={
                "name": SENT_NAME,
                "trigger": {"key": "manual"},
                "audience": {"type": "customer", "customer": customer.public_id},
                "action": {"key": "plain_message"},
                "channels": [
                    {"kind": "email", "template": {"subject": "Welcome!", "body": "Good to see you."}}
                ],
            },
        )
        manual = services.distribution_send(project=project, distribution=manual)
        # The demo skips the 10-minute wait: due now, claimed and finished as delivery would.
        Distribution.objects.for_project(project).filter(pk=manual.pk).update(send_at=timezone.now())
        services.distributions_claim_due()
        created.append(services.distribution_mark_sent(project=project, distribution=manual))
    return created
