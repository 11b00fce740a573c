"""Earning rules: points for what members do, applied once per event by the event-bus handler."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.loyalty import ledger
from campaigns.loyalty.errors import LoyaltyRefused
from campaigns.loyalty.members import card_for, check_loyalty_campaign, member_add
from campaigns.loyalty.tiers import settle_tiers
from campaigns.models import Campaign, EarningRule
from campaigns.publications import PublicationRefused
from customers.models import Customer, Order
from eventbus.models import DomainEvent
from eventbus.services import publish
from tenancy.ids import new_public_id
from tenancy.models import Project

REWARDED_EVENT = "customer.rewarded.loyalty_points"
CUSTOM_EVENT = "customer.custom_event"
CALCULATIONS = {
    "ORDER_AMOUNT": ("order", "amount"),
    "ORDER_TOTAL_AMOUNT": ("order", "total_amount"),
    "CUSTOM_EVENT_METADATA": ("custom_event", "metadata"),
}
FIELDS = (
    "event",
    "loyalty",
    "custom_event",
    "source",
    "active",
    "start_date",
    "expiration_date",
    "validity_timeframe",
    "validity_day_of_week",
    "validity_hours",
    "metadata",
)


def check_rule(fields: Mapping[str, Any]) -> None:
    """Refuses a rule this server cannot apply, naming why (Voucherify's `invalid_payload`)."""
    event = fields.get("event")
    if event is not None and event.startswith("customer.") and event != EarningRule.ORDER_PAID:
        raise LoyaltyRefused(
            "invalid_payload",
            f"Earning rules on {event} are not supported: use customer.order.paid or a custom event.",
        )
    if fields.get("validity_timeframe"):
        raise LoyaltyRefused("invalid_payload", "validity_timeframe is not supported on earning rules.")
    loyalty = fields.get("loyalty")
    if loyalty is None:
        return
    if loyalty.get("type") == "FIXED":
        if not isinstance(loyalty.get("points"), int) or loyalty["points"] <= 0:
            raise LoyaltyRefused(
                "invalid_payload", "loyalty.points must be a positive integer for a FIXED rule."
            )
        return
    calculation = loyalty.get("calculation_type")
    if calculation not in CALCULATIONS:
        raise LoyaltyRefused(
            "invalid_payload", "loyalty.calculation_type must be one of " + ", ".join(CALCULATIONS)
        )
    section, key = CALCULATIONS[calculation]
    spec = (loyalty.get(section) or {}).get(key) or {}
    for name in ("every", "points"):
        if not isinstance(spec.get(name), int) or isinstance(spec.get(name), bool) or spec[name] <= 0:
            raise LoyaltyRefused(
                "invalid_payload", f"loyalty.{section}.{key}.{name} must be a positive integer."
            )
    if calculation == "CUSTOM_EVENT_METADATA" and not isinstance(spec.get("property"), str):
        raise LoyaltyRefused(
            "invalid_payload", f"loyalty.{section}.{key}.property must name a metadata property."
        )
    if section == "order" and (fields.get("event") or EarningRule.ORDER_PAID) != EarningRule.ORDER_PAID:
        raise LoyaltyRefused("invalid_payload", f"{calculation} applies to customer.order.paid rules only.")


@transaction.atomic
def earning_rules_create(
    *, project: Project, campaign: Campaign, items: list[Mapping[str, Any]]
) -> list[EarningRule]:
    check_loyalty_campaign(campaign)
    rules = []
    for item in items:
        check_rule(item)
        rules.append(
            EarningRule.objects.create(
                project=project,
                public_id=new_public_id("ern", 24),
                campaign=campaign,
                **{name: _value(name, item[name]) for name in FIELDS if name in item},
            )
        )
    return rules


def _value(name: str, value: Any) -> Any:
    if value is None and name in ("source", "metadata"):
        return {}
    if value is None and name == "active":
        return True
    return value


@transaction.atomic
def earning_rule_update(*, project: Project, rule: EarningRule, fields: Mapping[str, Any]) -> EarningRule:
    check_rule(
        {
            "event": fields.get("event", rule.event),
            "loyalty": fields.get("loyalty", rule.loyalty),
            "validity_timeframe": fields.get("validity_timeframe"),
        }
    )
    locked = EarningRule.objects.for_project(project).select_for_update().get(pk=rule.pk)
    for name in FIELDS:
        if name in fields:
            setattr(locked, name, _value(name, fields[name]))
    locked.updated_at = timezone.now()
    locked.save()
    return locked


@transaction.atomic
def earning_rule_delete(*, project: Project, rule: EarningRule) -> None:
    EarningRule.objects.for_project(project).filter(pk=rule.pk).delete()


def points_for(rule: EarningRule, *, order: Order | None, metadata: Mapping[str, Any] | None) -> int:
    loyalty = rule.loyalty or {}
    if loyalty.get("type") == "FIXED":
        return int(loyalty.get("points") or 0)
    section, key = CALCULATIONS[loyalty["calculation_type"]]
    spec = loyalty[section][key]
    if section == "order":
        amount = (order.amount if order is not None else None) or 0
    else:
        value = (metadata or {}).get(spec["property"])
        amount = value if isinstance(value, int | float) and not isinstance(value, bool) else 0
    return int(amount // spec["every"]) * spec["points"]


def _rule_event(event: DomainEvent) -> str:
    """The earning rules' `event` that `event` is ('' for a custom event without a name)."""
    if event.type == CUSTOM_EVENT:
        return (event.data or {}).get("event") or ""
    return EarningRule.ORDER_PAID


def _candidate_rules(project: Project, events: list[DomainEvent]) -> list[EarningRule]:
    """The active rules any of `events` (of `project`) may match, in one query."""
    names = {_rule_event(event) for event in events} - {""}
    if not names:
        return []
    earliest = min(event.created_at for event in events)
    latest = max(event.created_at for event in events)
    return list(
        EarningRule.objects.for_project(project)
        .filter(event__in=names, active=True)
        .filter(Q(start_date__isnull=True) | Q(start_date__lte=latest))
        .filter(Q(expiration_date__isnull=True) | Q(expiration_date__gt=earliest))
        .select_related("campaign")
        .order_by("pk")
    )


def _rules_matching(rules: list[EarningRule], event: DomainEvent) -> list[EarningRule]:
    now, name = event.created_at, _rule_event(event)
    return [
        rule
        for rule in rules
        if rule.event == name
        and (rule.start_date is None or rule.start_date <= now)
        and (rule.expiration_date is None or rule.expiration_date > now)
        and applies_at(rule, now)
    ]


def _rules_for(project: Project, event: DomainEvent) -> list[EarningRule]:
    return _rules_matching(_candidate_rules(project, [event]), event)


def applies_at(rule: EarningRule, when: datetime) -> bool:
    """The rule's `validity_day_of_week` (0 = Sunday) and `validity_hours.daily` windows, in UTC."""
    sunday_first = (when.weekday() + 1) % 7
    if rule.validity_day_of_week and sunday_first not in rule.validity_day_of_week:
        return False
    windows = (rule.validity_hours or {}).get("daily") or []
    if not windows:
        return True
    clock = when.strftime("%H:%M")
    return any(
        (not window.get("days_of_week") or sunday_first in window["days_of_week"])
        and window.get("start_time", "00:00") <= clock < window.get("expiration_time", "24:00")
        for window in windows
    )


def apply_earning_rules_many(events: list[DomainEvent]) -> int:
    """`apply_earning_rules` for a batch of events: the rules are read once per project, and only
    events that some rule matches go on to award points."""
    by_project: dict[int, list[DomainEvent]] = {}
    for event in events:
        if event.customer_id is not None:
            by_project.setdefault(event.project_id, []).append(event)
    awarded = 0
    for project_events in by_project.values():
        candidates = _candidate_rules(project_events[0].project, project_events)
        for event in project_events if candidates else []:
            rules = _rules_matching(candidates, event)
            if rules:
                awarded += apply_earning_rules(event, rules=rules)
    return awarded


def apply_earning_rules(event: DomainEvent, *, rules: list[EarningRule] | None = None) -> int:
    """Award the points of every earning rule matching `event` (or of `rules`, when the caller has
    matched them) to its customer's cards; returns how many awards were made. Each award is keyed by
    (card, event, rule), so a redelivered event awards nothing twice. A program with `auto_join`
    makes the customer a member first."""
    project = event.project
    if event.customer_id is None:
        return 0
    if rules is None:
        rules = _rules_for(project, event)
    if not rules:
        return 0
    customer = Customer.objects.for_project(project).get(pk=event.customer_id)
    order = None
    metadata: Mapping[str, Any] | None = None
    if event.type == CUSTOM_EVENT:
        metadata = (event.data or {}).get("metadata") or {}
    else:
        order = Order.objects.for_project(project).filter(public_id=(event.refs or {}).get("order")).first()
    awarded = 0
    for rule in rules:
        points = points_for(rule, order=order, metadata=metadata)
        if points <= 0:
            continue
        card = card_for(project=project, campaign=rule.campaign, customer=customer)
        if card is None:
            if not rule.campaign.auto_join or not rule.campaign.active:
                continue
            try:
                card, _ = member_add(project=project, campaign=rule.campaign, customer=customer)
            except (LoyaltyRefused, PublicationRefused):
                # The program takes no members now (expired, not started, no codes): nothing to award,
                # and retrying the event would not change that.
                continue
        if _award(project, card.pk, rule, event, points, order):
            awarded += 1
    return awarded


def _award(
    project: Project, card_id: int, rule: EarningRule, event: DomainEvent, points: int, order: Order | None
) -> bool:
    with transaction.atomic():
        card = ledger.lock_card(project, card_id)
        ledger.expire_due_on_cards(project, [card.pk])
        movement = ledger.add_points(
            project,
            card,
            points,
            kind=ledger.Kind.POINTS_ACCRUED,
            reason=f"earning rule {rule.public_id}",
            cause_key=f"{event.public_id}:{rule.public_id}",
            earning_rule=rule,
        )
        if not movement.created:
            return False
        refs: dict[str, Any] = {
            "campaign": card.campaign,
            "voucher": card.voucher,
            "earning_rule": rule,
            "event": event,
            "transaction": movement.transaction,
        }
        if order is not None:
            refs["order"] = order
        if event.type == CUSTOM_EVENT and (event.refs or {}).get("custom_event"):
            refs["custom_event"] = event.refs["custom_event"]
        settle_tiers(project, [card.pk])
        card.refresh_from_db(fields=["tier"])
        if card.tier_id is not None:
            refs["loyalty_tier"] = card.tier
        publish(
            project,
            REWARDED_EVENT,
            customer=card.customer,
            refs=refs,
            data={"points": points, "balance": movement.balance, "total": movement.points},
        )
    return True
