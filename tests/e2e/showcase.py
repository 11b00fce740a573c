"""A project that looks lived-in, for the dashboard's browser tests and the README's screenshots.

Built through the services (so statuses, activity lines and streams are what clicks would leave),
plus a week of delivery history inserted directly: messages and their attempts, spread over the
last seven days, some failed and some recovered, so the Analytics charts have something to draw.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from campaigns.models import Campaign, Publication, Redemption, Voucher
from campaigns.validation_rules.services import validation_rule_create
from customers.models import Customer
from distributions import services
from distributions.models import Distribution
from messaging.models import Message, MessageAttempt
from segments import services as segment_services
from segments.models import Segment
from tenancy.models import Project
from tests.campaigns.factories import make_campaign
from tests.factories import CustomerFactory
from webhooks_out.services import seed_webhooks

FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus", "Radia", "Donald"]


@dataclass
class Showcase:
    project: Project
    campaign: Campaign
    segment: Segment
    live: Distribution  # automatic, live, with a week of deliveries
    sent: Distribution  # manual to a segment, sent
    scheduled: Distribution  # manual, counting down
    paused: Distribution
    draft: Distribution


def _email(subject: str, body: str) -> dict:
    return {"kind": "email", "template": {"subject": subject, "body": body}}


def _webhook(project: Project) -> dict:
    endpoint = seed_webhooks(project, base_url="http://127.0.0.1:9")
    return {
        "kind": "webhook",
        "settings": {"endpoint": endpoint.public_id},
        "template": {"event_name": "order.thank_you", "payload": {"code": "{{voucher.code}}"}},
    }


def _history(
    project: Project, distribution: Distribution, customers: list[Customer], rng: random.Random
) -> None:
    """A week of messages on each of the distribution's channels: mostly sent, some failed for good,
    some sent on a retry (recovered); and codes published to a third of the customers, half of them
    redeemed."""
    stream = services.distribution_stream_open(project=project, distribution=distribution)
    now = timezone.now()
    for channel in distribution.channels.all():
        messages, attempts = [], []
        for index in range(120):
            customer = customers[index % len(customers)]
            moment = now - timedelta(hours=rng.uniform(0.5, 7 * 24 - 1))
            roll = rng.random()
            state = Message.State.FAILED if roll < 0.08 else Message.State.SENT
            recovered = state == Message.State.SENT and roll > 0.9
            messages.append(
                Message(
                    project=project,
                    public_id=f"msg_showcase_{distribution.pk}_{channel.kind}_{index}",
                    stream=stream,
                    channel=channel.kind,
                    customer=customer,
                    cause_key=f"showcase:{index}",
                    template=channel.message_template,
                    state=state,
                    attempts=2 if recovered else 1,
                    first_attempt_at=moment,
                    recovered=recovered,
                    created_at=moment,
                    queued_at=moment,
                    sent_at=moment if state == Message.State.SENT else None,
                    last_error="HTTP 503 from the provider" if state == Message.State.FAILED else "",
                )
            )
        Message.objects.bulk_create(messages)
        for message in messages:
            if message.recovered:
                attempts.append(_attempt(project, stream, message, 1, MessageAttempt.Outcome.TRANSIENT))
            outcome = MessageAttempt.Outcome.SENT if message.state == Message.State.SENT else "permanent"
            attempts.append(_attempt(project, stream, message, message.attempts, outcome))
        MessageAttempt.objects.bulk_create(attempts)
    campaign_id = distribution.action_params.get("campaign")
    if campaign_id is None:
        return
    vouchers = list(
        Voucher.objects.for_project(project).filter(campaign__public_id=campaign_id).order_by("pk")
    )
    for index, (voucher, customer) in enumerate(
        zip(vouchers[: len(customers) // 3], customers, strict=False)
    ):
        Publication.objects.create(
            project=project,
            public_id=f"pub_showcase_{voucher.pk}",
            campaign=voucher.campaign,
            voucher=voucher,
            customer=customer,
            distribution_id=distribution.pk,
        )
        if index % 2 == 0:
            Voucher.objects.for_project(project).filter(pk=voucher.pk).update(redeemed_quantity=1)
            Redemption.objects.create(
                project=project,
                public_id=f"r_showcase_{voucher.pk}",
                object=Redemption.Object.REDEMPTION,
                result=Redemption.Result.SUCCESS,
                status=Redemption.Status.SUCCEEDED,
                related_object_type="voucher",
                related_object_id=voucher.public_id,
                voucher_code=voucher.code,
                voucher=voucher,
                campaign=voucher.campaign,
                customer=customer,
                amount=12900,
                channel_type="API",
            )


def _attempt(project, stream, message: Message, number: int, outcome: str) -> MessageAttempt:
    at = message.first_attempt_at + timedelta(minutes=5 * (number - 1))
    return MessageAttempt(
        project=project,
        message=message,
        stream=stream,
        channel=message.channel,
        number=number,
        attempted_at=at,
        outcome=outcome,
        is_final=outcome == MessageAttempt.Outcome.PERMANENT,
        error="" if outcome == MessageAttempt.Outcome.SENT else "HTTP 503 from the provider",
        duration_ms=120,
    )


def build_showcase(project: Project, by=None) -> Showcase:
    rng = random.Random(7)
    customers = [
        CustomerFactory(
            project=project,
            source_id=f"showcase-{index}",
            name=f"{FIRST_NAMES[index % len(FIRST_NAMES)]} Example {index}",
            email=f"customer{index}@example.com",
        )
        for index in range(30)
    ]
    campaign = make_campaign(project, name="Black Friday 20% off", codes_count=40)
    rule = validation_rule_create(
        project=project,
        fields={
            "name": "Order paid over $99",
            "rules": {
                "1": {"name": "order.amount", "conditions": {"$more_than": [9900]}, "rules": {}},
                "logic": "1",
            },
        },
    )
    segment = segment_services.segment_create(project=project, name="New customers", type="static")
    segment_services.segment_add_customers(
        project=project, segment=segment, customers=[c.public_id for c in customers[:12]]
    )
    publish = {"key": "publish_codes", "params": {"campaign": campaign.public_id}}

    def create(fields: dict) -> Distribution:
        return services.distribution_create(project=project, fields=fields, by=by)

    live = create(
        {
            "name": "Thank you for your order",
            "trigger": {"key": "order_paid", "params": {"validation_rule": rule.public_id}},
            "action": publish,
            "channels": [
                _email("Thanks, {{customer.name}}: 20% off your next order", "Your code: {{voucher.code}}"),
                _webhook(project),
            ],
        }
    )
    live = services.distribution_send(project=project, distribution=live, by=by)
    services.distribution_update(project=project, distribution=live, fields={"name": live.name}, by=by)
    _history(project, live, customers, rng)

    sent = create(
        {
            "name": "Black Friday preview",
            "trigger": {"key": "manual"},
            "audience": {"type": "segment", "segment": segment.public_id},
            "action": {"key": "plain_message"},
            "channels": [_email("Black Friday starts tomorrow", "Early access for you, {{customer.name}}.")],
        }
    )
    sent = services.distribution_send(project=project, distribution=sent, by=by)
    Distribution.objects.for_project(project).filter(pk=sent.pk).update(send_at=timezone.now())
    services.distributions_claim_due()
    sent.refresh_from_db()
    services.distribution_mark_sent(project=project, distribution=sent)
    sent.refresh_from_db()
    _history(project, sent, customers[:12], rng)

    scheduled = create(
        {
            "name": "Spring newsletter",
            "trigger": {"key": "manual"},
            "audience": {"type": "segment", "segment": segment.public_id},
            "action": {"key": "plain_message"},
            "channels": [_email("Spring is here", "New arrivals, picked for you.")],
        }
    )
    scheduled = services.distribution_send(project=project, distribution=scheduled, by=by)

    paused = create(
        {
            "name": "Welcome to the club",
            "trigger": {"key": "segment_entered", "params": {"segment": segment.public_id}},
            "action": {"key": "plain_message"},
            "channels": [_email("Welcome!", "Good to have you, {{customer.name}}.")],
        }
    )
    paused = services.distribution_send(project=project, distribution=paused, by=by)
    paused = services.distribution_pause(project=project, distribution=paused, by=by)

    draft = create({"name": "Cart reminder", "trigger": {"key": "order_created"}})
    # The week of history above needs distributions at least that old.
    Distribution.objects.for_project(project).filter(pk__in=[live.pk, sent.pk]).update(
        created_at=timezone.now() - timedelta(days=8)
    )
    live.refresh_from_db()
    sent.refresh_from_db()
    return Showcase(project, campaign, segment, live, sent, scheduled, paused, draft)
