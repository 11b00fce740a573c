"""Event-bus handlers: automatic distributions reacting to events, and delivery pausing a distribution.

The automatic handler runs at order 20, after segment membership (10), so a validation rule's
segment condition sees the membership the same event produced. Per event it reads the project's
live distributions for the event's type (a partial index), keeps those whose time frame, trigger
parameters and validation rule accept the event, and creates the customer's messages keyed by the
event's public id: a redelivered event creates nothing twice, and publishes no second code.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from campaigns.models import Campaign, ValidationRule
from campaigns.publications import PublicationRefused, publish_codes
from campaigns.validation_rules.evaluator import RuleContext, validation_rule_evaluate
from customers.models import Customer, Order
from distributions import catalogue, services
from distributions.catalogue import ParameterKind
from distributions.models import Distribution, DistributionChannel
from distributions.sending import (
    ADDRESS_OF_CHANNEL,
    distributions_schedule_after_first_sync,
    static_variables,
)
from eventbus.cause import Cause
from eventbus.models import DomainEvent
from eventbus.registry import handles
from messaging.models import MessageStream
from messaging.services import MESSAGE_FAILED, STREAM_PAUSED, MessageRow, messages_enqueue

logger = logging.getLogger(__name__)

AUTOMATIC_EVENT_TYPES = sorted(t.event_type for t in catalogue.TRIGGERS if t.mode == catalogue.Mode.AUTOMATIC)
CAMPAIGN_KINDS = (ParameterKind.CAMPAIGN, ParameterKind.LOYALTY_CAMPAIGN)


# --- What an event says --------------------------------------------------------------------------


def _order_of(event: DomainEvent, orders: dict[str, Order]) -> Order | None:
    """The event's order among `orders` (read for the whole batch, by public id)."""
    return orders.get((event.refs or {}).get("order") or "")


def event_variables(event: DomainEvent, order: Order | None) -> dict[str, Any]:
    """The template variables an event supplies (credits, points, code, order...), by its type."""
    refs, data = event.refs or {}, event.data or {}
    variables: dict[str, Any] = {
        "event.id": event.public_id,
        "event.type": event.type,
        "event.created_at": event.created_at.isoformat(),
    }
    if refs.get("campaign"):
        variables["campaign.id"] = refs["campaign"]
    if order is not None:
        variables["order.id"] = order.public_id
        variables["order.amount"] = order.amount
    if event.type == "customer.voucher.gift.balance_added":
        variables["gift.credits_added"] = data.get("amount")
        variables["gift.balance"] = data.get("balance")
    if event.type in ("customer.voucher.loyalty_card.points_added", "customer.rewarded.loyalty_points"):
        variables["loyalty.points_added"] = data.get("points")
        variables["loyalty.points_balance"] = data.get("balance")
    tier = refs.get("loyalty_tier_to") or refs.get("loyalty_tier")
    if tier:
        variables["loyalty.tier"] = tier
    if event.type == "customer.reward_redemptions.completed":
        variables["reward.name"] = refs.get("reward")
        variables["reward.value"] = data.get("points")
    code = data.get("voucher_code") or data.get("code")
    if code:
        variables["voucher.code"] = code
    if event.type == "customer.referred":
        variables["referral.reward"] = data.get("reward")
    return {name: value for name, value in variables.items() if value is not None}


def _parameter_matches(parameter: catalogue.Parameter, value: Any, event: DomainEvent) -> bool:
    refs, data = event.refs or {}, event.data or {}
    if parameter.kind in CAMPAIGN_KINDS:
        return refs.get("campaign") == value
    if parameter.kind == ParameterKind.SEGMENT:
        return refs.get("segment") == value
    if parameter.kind == ParameterKind.LOYALTY_TIER:
        # The tier the customer is in now (upgraded / downgraded: the new one), or the one they left.
        return value in (refs.get("loyalty_tier"), refs.get("loyalty_tier_to"))
    if parameter.kind == ParameterKind.CUSTOM_EVENT_NAME:
        return data.get("event") == value
    return True  # the validation rule is checked on its own, with the event's context


def trigger_accepts(distribution: Distribution, event: DomainEvent, order: Order | None) -> bool:
    trigger = catalogue.trigger(distribution.trigger_key)
    if trigger is None or trigger.event_type != event.type:
        return False
    if not distribution.is_in_time_frame(event.created_at):
        return False
    params = distribution.trigger_params or {}
    for parameter in trigger.parameters:
        value = params.get(parameter.name)
        if value not in (None, "") and not _parameter_matches(parameter, value, event):
            return False
    rule_id = params.get("validation_rule")
    if not rule_id:
        return True
    rule = ValidationRule.objects.for_project(event.project).filter(public_id=rule_id).first()
    if rule is None:  # deleted since: a condition that cannot be checked does not hold
        return False
    is_custom_event = event.type == "customer.custom_event"
    context = RuleContext(
        customer=event.customer,
        order=order,
        custom_event_metadata=(event.data or {}).get("metadata") if is_custom_event else None,
    )
    return validation_rule_evaluate(project=event.project, rule=rule, context=context).passed


# --- Reacting -------------------------------------------------------------------------------------


def _code_for(distribution: Distribution, event: DomainEvent) -> tuple[dict[str, Any], str]:
    """Publish the customer's code for this event (or find the one published before)."""
    project = event.project
    campaign = (
        Campaign.objects.for_project(project)
        .filter(public_id=(distribution.action_params or {}).get("campaign") or "")
        .first()
    )
    if campaign is None:
        return {}, "no_code"
    try:
        codes = publish_codes(
            project=project,
            campaign=campaign,
            customer_ids=[event.customer_id],
            cause_key=event.public_id,
            distribution_id=distribution.pk,
            cause=Cause.distribution(distribution.public_id),
        )
    except PublicationRefused as error:
        logger.warning("Distribution %s published no code: %s", distribution.public_id, error.details)
        return {}, "no_code"
    code = codes.get(event.customer_id)
    return ({"voucher.code": code}, "") if code else ({}, "no_code")


def distribution_react(
    *,
    distribution: Distribution,
    events: list[DomainEvent],
    channels: list[DistributionChannel],
    orders: dict[str, Order],
) -> int:
    """Create each event's customer's messages on each channel, one insert per channel for all the
    events; returns how many were created. Codes are published per event: each is keyed by it."""
    if not channels or not events:
        return 0
    project = events[0].project
    static = static_variables(project, distribution)
    rows: dict[int, list[MessageRow]] = {channel.pk: [] for channel in channels}
    for event in events:
        customer: Customer = event.customer
        variables = {**static, **event_variables(event, _order_of(event, orders))}
        skip = ""
        if distribution.action_key == "publish_codes":
            reachable = any(
                c.kind not in ADDRESS_OF_CHANNEL or getattr(customer, ADDRESS_OF_CHANNEL[c.kind])
                for c in channels
            )
            if reachable:
                code_variables, skip = _code_for(distribution, event)
                variables.update(code_variables)
        variables = json.loads(json.dumps(variables, default=str))
        for channel in channels:
            address = ADDRESS_OF_CHANNEL.get(channel.kind)
            reason = skip or (f"no_{address}" if address and not getattr(customer, address) else "")
            rows[channel.pk].append(MessageRow(customer.pk, event.public_id, variables, reason))
    stream = services.distribution_stream_open(project=project, distribution=distribution)
    created = 0
    for channel in channels:
        result = messages_enqueue(
            project=project,
            stream=stream,
            channel=channel.kind,
            template=channel.message_template,
            rows=rows[channel.pk],
        )
        created += result.created
    return created


def react_to_events(events: list[DomainEvent]) -> None:
    """`react_to_event` for a batch: per project, one read each of the live distributions for the
    batch's event types, of their channels and of the events' orders; per distribution and channel,
    one insert of the messages of every event its trigger accepts."""
    by_project: dict[int, list[DomainEvent]] = {}
    for event in events:
        if event.customer_id is not None:
            by_project.setdefault(event.project_id, []).append(event)
    for project_events in by_project.values():
        _react_in_project(project_events)


def _react_in_project(events: list[DomainEvent]) -> None:
    project = events[0].project
    live = list(
        Distribution.objects.for_project(project)
        .live_for_event_types({event.type for event in events})
        .order_by("pk")
    )
    if not live:
        return
    channels: dict[int, list[DistributionChannel]] = {distribution.pk: [] for distribution in live}
    for channel in (
        DistributionChannel.objects.for_project(project)
        .filter(distribution__in=live, message_template__isnull=False)
        .select_related("message_template")
        .order_by("position", "pk")
    ):
        channels[channel.distribution_id].append(channel)
    order_ids = {(event.refs or {}).get("order") for event in events} - {None, ""}
    orders = {
        order.public_id: order for order in Order.objects.for_project(project).filter(public_id__in=order_ids)
    }
    for distribution in live:
        if not channels[distribution.pk]:
            continue  # nothing it could send: not worth evaluating its trigger and rule
        accepted = [
            event
            for event in events
            # A distribution never reacts to an event it caused.
            if (event.cause or {}).get("distribution_id") != distribution.public_id
            and trigger_accepts(distribution, event, _order_of(event, orders))
        ]
        distribution_react(
            distribution=distribution, events=accepted, channels=channels[distribution.pk], orders=orders
        )


@handles(AUTOMATIC_EVENT_TYPES, order=20, many=react_to_events)
def react_to_event(event: DomainEvent) -> None:
    """Every live distribution whose trigger accepts the event creates the customer's messages."""
    react_to_events([event])


@handles("segment.synced", order=20)
def schedule_after_first_sync(event: DomainEvent) -> None:
    """Manual distributions waiting for their segment's first sync start their countdown now."""
    from segments.models import Segment

    segment_id = (event.refs or {}).get("segment")
    synced_at = (
        Segment.objects.for_project(event.project)
        .filter(public_id=segment_id or "")
        .values_list("synced_at", flat=True)
        .first()
    )
    if synced_at is not None:
        distributions_schedule_after_first_sync(
            project=event.project, segment_public_id=segment_id, synced_at=synced_at
        )


# --- Delivery pausing a distribution ------------------------------------------------------------


@handles([STREAM_PAUSED, MESSAGE_FAILED], order=20)
def pause_on_stream_paused(event: DomainEvent) -> None:
    """A message failed for good and delivery paused the stream: the distribution pauses too, saying
    why, so that setting it live again is the marketer's decision (with a replay of what failed)."""
    owner = (event.data or {}).get("owner") or ""
    kind, _, public_id = owner.partition(":")
    if kind != "distribution":
        return
    project = event.project
    stream = MessageStream.objects.for_project(project).filter(owner=owner).first()
    # Resumed meanwhile (or paused by the distribution itself, which is then already paused).
    if stream is None or stream.state != MessageStream.State.PAUSED:
        return
    distribution = Distribution.objects.for_project(project).filter(public_id=public_id).first()
    if distribution is None or distribution.status not in services.PAUSABLE:
        return
    reason = stream.paused_reason or (event.data or {}).get("error") or "A message failed for good."
    services.distribution_pause(project=project, distribution=distribution, reason=reason)
