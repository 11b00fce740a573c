"""Demo distributions for `seed_demo` (the lead wires `seed_distributions(project)` in).

Idempotent: each is looked up by name and created only when missing. Built through the services, so
the history (activity log, `distribution.*` events, messages) is what a marketer's clicks would have
left. Both send webhooks to the project's sandbox receiver (`webhooks_out.services.seed_webhooks`);
the live one also emails, which the run command's SMTP sink keeps in the same sandbox inbox.
"""

from __future__ import annotations

from django.utils import timezone

from campaigns.models import Campaign, ValidationRule
from campaigns.validation_rules.services import validation_rule_create
from customers.models import Customer
from distributions import sending, services
from distributions.models import Distribution
from messaging.delivery import messages_deliver
from messaging.email.starters import starter
from messaging.models import Message
from tenancy.models import Project
from webhooks_out.services import seed_webhooks

LIVE_NAME = "Thank you for your order"
SENT_NAME = "Welcome message"
WELCOME_CAMPAIGN = "Welcome 10% off"
RULE_NAME = "Order paid over $99"
PAYLOAD = {
    "customer": {"id": "{{customer.id}}", "name": "{{customer.name | there}}", "email": "{{customer.email}}"},
    "code": "{{voucher.code}}",
    "campaign": "{{campaign.name}}",
    "order": {"id": "{{order.id}}", "amount": "{{order.amount}}"},
}


def _exists(project: Project, name: str) -> bool:
    return Distribution.objects.for_project(project).filter(name=name).exists()


def _webhook(project: Project, event_name: str) -> dict:
    endpoint = seed_webhooks(project)
    return {
        "kind": "webhook",
        "settings": {"endpoint": endpoint.public_id},
        "template": {"event_name": event_name, "payload": PAYLOAD},
    }


def _rule(project: Project) -> ValidationRule:
    existing = ValidationRule.objects.for_project(project).filter(name=RULE_NAME).first()
    if existing is not None:
        return existing
    rules = {"1": {"name": "order.amount", "conditions": {"$more_than": [9900]}, "rules": {}}, "logic": "1"}
    return validation_rule_create(project=project, fields={"name": RULE_NAME, "rules": rules})


def _action(project: Project) -> dict:
    campaign = Campaign.objects.for_project(project).filter(name=WELCOME_CAMPAIGN).first()
    if campaign is None:
        return {"key": "plain_message"}
    return {"key": "publish_codes", "params": {"campaign": campaign.public_id}}


def seed_distributions(project: Project) -> list[Distribution]:
    """A live automatic distribution (an order paid over $99 → a welcome code by webhook and email)
    and a manual one that was sent to the first customer, with its history."""
    created = []
    if not _exists(project, LIVE_NAME):
        live = services.distribution_create(
            project=project,
            fields={
                "name": LIVE_NAME,
                "trigger": {"key": "order_paid", "params": {"validation_rule": _rule(project).public_id}},
                "action": _action(project),
                # By email too: the run command's SMTP sink shows it in the sandbox inbox.
                "channels": [
                    _webhook(project, "order.thank_you"),
                    {"kind": "email", "template": starter("simple")},
                ],
            },
        )
        created.append(services.distribution_send(project=project, distribution=live))
    customer = Customer.objects.for_project(project).order_by("created_at", "pk").first()
    if customer is not None and not _exists(project, SENT_NAME):
        action = _action(project)
        channels = (
            [_webhook(project, "customer.welcome")]
            if action["key"] == "publish_codes"
            else [{"kind": "email", "template": {"subject": "Welcome!", "body": "Good to see you."}}]
        )
        manual = services.distribution_create(
            project=project,
            fields={
                "name": SENT_NAME,
                "trigger": {"key": "manual"},
                "audience": {"type": "customer", "customer": customer.public_id},
                "action": action,
                "channels": channels,
            },
        )
        manual = services.distribution_send(project=project, distribution=manual)
        # The demo skips the 10-minute wait: due now, claimed, materialised and delivered at once.
        Distribution.objects.for_project(project).filter(pk=manual.pk).update(send_at=timezone.now())
        services.distributions_claim_due()
        manual.refresh_from_db()
        sending.distribution_materialise(project=project, distribution=manual)
        manual.refresh_from_db()
        queued = list(
            Message.objects.for_project(project)
            .filter(stream__public_id=manual.stream_public_id, state=Message.State.QUEUED)
            .values_list("pk", flat=True)
        )
        if queued:
            # To the sandbox receiver; if the web server is not up, the retry schedule takes over.
            messages_deliver(project=project, channel="webhook", message_ids=queued)
        sending.distribution_check_sent(project=project, distribution=manual)
        manual.refresh_from_db()
        created.append(manual)
    return created
