"""What the wizard knows beyond one request: its steps, which step a problem belongs to, the starter
template of each channel, and the configuration told in one sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from campaigns.models import Campaign, PromotionTier, ValidationRule
from customers.models import Customer
from distributions import catalogue
from distributions.channels import default_payload
from distributions.models import Distribution
from distributions.validation import Problem
from messaging.email.design import design_to_text, normalise_design
from messaging.email.starters import starter
from segments.models import Segment
from tenancy.models import Project

STEPS = ("trigger", "action", "channels", "summary")
STEP_LABELS = {"trigger": "Trigger", "action": "Action", "channels": "Channels", "summary": "Summary"}


def step_of(problem: Problem) -> str:
    """The step where the field a problem names is edited."""
    field = problem.field
    if field.startswith(".action"):
        return "action"
    if field.startswith(".channels"):
        return "channels"
    return "trigger"


@dataclass(frozen=True)
class Missing:
    step: str
    label: str
    message: str


FIELD_LABELS = {
    ".name": "Name",
    ".trigger.key": "Trigger",
    ".audience": "Audience",
    ".audience.customer": "Customer",
    ".audience.segment": "Segment",
    ".live_until": "Live until",
    ".live_from": "Live from",
    ".action.key": "Action",
    ".channels": "Channels",
}


def label_of(field: str) -> str:
    """A field path in the words of the form (`.trigger.params.campaign` → "Campaign")."""
    if field in FIELD_LABELS:
        return FIELD_LABELS[field]
    last = field.rsplit(".", 1)[-1]
    if field.startswith(".channels["):
        kind_hint = "webhook URL" if last == "url" else last.replace("_", " ")
        return f"Channel {kind_hint}"
    return last.replace("_", " ").capitalize()


def missing_items(problems: list[Problem]) -> list[Missing]:
    return [Missing(step_of(p), label_of(p.field), p.message) for p in problems]


# --- Starter templates --------------------------------------------------------------------------


def _email_body(carries_code: bool) -> str:
    """The simple starter's text, without its unsubscribe line (the email's footer adds that); without
    a code to show, its code lines go."""
    design = starter("simple")["design"]
    if not carries_code:
        design["body"] = [block for block in design["body"] if "code" not in str(block).lower()]
    normalised, _ = normalise_design(design)
    text = design_to_text(normalised)
    return text.split(f"\n\n{normalised['footer']['unsubscribe_label']}:")[0].strip()


def starter_template(kind: str, action_key: str) -> dict[str, Any]:
    """A working message for a new channel, so the distribution can be sent before anyone opens the
    message editor: the email and SMS starters, the webhook's default payload."""
    action = catalogue.action(action_key)
    carries_code = bool(action and action.carries_code)
    if kind == "email":
        subject = (
            starter("simple")["subject"]
            if carries_code
            else "News for you, {{ customer.first_name | friend }}"
        )
        return {"subject": subject, "body": _email_body(carries_code)}
    if kind == "sms":
        body = "Hi {{ customer.first_name | there }}, "
        body += "your code: {{ voucher.code }}" if carries_code else "we have news for you."
        return {"body": body}
    if kind == "webhook":
        return {
            "event_name": f"distribution.{action_key or 'message'}",
            "payload": default_payload(action_key),
        }
    if kind == "mailchimp":
        return {"merge_fields": {"CODE": "{{ voucher.code }}"}}
    if kind == "braze":
        return {"attributes": {"voucher_code": "{{ voucher.code }}"}}
    return {}


# --- The configuration in words -----------------------------------------------------------------

RULE_SUBJECTS = {
    "order.amount": "the order amount",
    "order.initial_amount": "the order amount before discounts",
    "order.items.count": "the number of items",
    "order.metadata": "the order's {}",
    "customer.metadata": "the customer's {}",
    "custom_event.metadata": "the event's {}",
    "customer.segment": "the customer's segment",
    "order.items.any": "the order's items",
    "redemption.count.per_customer": "the customer's redemptions",
}
OPERATOR_WORDS = {
    "$is": "is",
    "$is_not": "is not",
    "$in": "is one of",
    "$not_in": "is none of",
    "$more_than": "is above",
    "$more_than_equal": "is at least",
    "$less_than": "is below",
    "$less_than_equal": "is at most",
    "$contains": "contains",
    "$starts_with": "starts with",
    "$ends_with": "ends with",
    "$has_value": "is set",
    "$is_unknown": "is not set",
}
AMOUNT_RULES = ("order.amount", "order.initial_amount")


def money(cents: Any, currency: str = "$") -> str:
    if not isinstance(cents, int | float):
        return str(cents)
    whole, part = divmod(int(cents), 100)
    return f"{currency}{whole}" if part == 0 else f"{currency}{whole}.{part:02d}"


def describe_rule(rule: ValidationRule) -> str:
    """A rule set in words: "the order amount is above $99"; `logic` joins them as written."""
    described: dict[str, str] = {}
    for number, row in (rule.rules or {}).items():
        if number == "logic" or not isinstance(row, dict):
            continue
        subject = RULE_SUBJECTS.get(row.get("name", ""), row.get("name", "")).format(row.get("property", ""))
        parts = []
        for operator, values in (row.get("conditions") or {}).items():
            words = OPERATOR_WORDS.get(operator, operator)
            if isinstance(values, list) and values:
                shown = [money(v) if row.get("name") in AMOUNT_RULES else str(v) for v in values]
                parts.append(f"{subject} {words} {' or '.join(shown)}")
            else:
                parts.append(f"{subject} {words}")
        described[number] = " and ".join(parts)
    logic = rule.logic or " and ".join(described)
    words = [described.get(token, token) for token in logic.replace("(", " ( ").replace(")", " ) ").split()]
    return " ".join(words).replace("( ", "(").replace(" )", ")")


WHEN = {
    "custom_event": "a customer's custom event {event} is tracked",
    "order_created": "a customer creates an order",
    "order_updated": "a customer's order is updated",
    "order_paid": "a customer pays an order",
    "order_canceled": "a customer cancels an order",
    "code_published": "a code of {campaign} is published to a customer",
    "customer_referred": "a customer is referred in {campaign}",
    "reward_redeemed": "a customer redeems a reward in {campaign}",
    "segment_entered": "a customer enters {segment}",
    "segment_left": "a customer leaves {segment}",
    "gift_credits_added": "credits are added to a customer's gift card of {campaign}",
    "loyalty_points_added": "points are added to a customer's loyalty card of {campaign}",
    "loyalty_points_expired": "points expire on a customer's loyalty card of {campaign}",
    "voucher_redeemed": "a customer redeems a code of {campaign}",
    "redemption_rolled_back": "a redemption of a code of {campaign} is rolled back",
    "tier_joined": "a customer enters the tiers of {campaign}",
    "tier_left": "a customer leaves the tiers of {campaign}",
    "tier_upgraded": "a customer moves up a tier in {campaign}",
    "tier_downgraded": "a customer moves down a tier in {campaign}",
    "tier_prolonged": "a customer's tier in {campaign} is prolonged",
    "tier_points_rewarded": "a customer is rewarded loyalty points in {campaign}",
}


def _name(model: type, project: Project, public_id: Any) -> str:
    if not public_id:
        return "(not chosen yet)"
    found = model.objects.for_project(project).filter(public_id=public_id).first()
    return f"“{found.name or found.public_id}”" if found is not None else f"“{public_id}”"


def _customer_name(project: Project, public_id: Any) -> str:
    found = Customer.objects.for_project(project).filter(public_id=public_id).first() if public_id else None
    if found is None:
        return "(no customer chosen yet)"
    return found.name or found.email or found.source_id or found.public_id


CHANNEL_WORDS = {
    "email": "email",
    "sms": "SMS",
    "webhook": "webhook",
    "mailchimp": "Mailchimp",
    "braze": "Braze",
}


def configuration_in_words(project: Project, distribution: Distribution, channels: list[str]) -> str:
    """The whole configuration as one sentence, e.g. "When a customer pays an order and the order
    amount is above $99, publish a code from “Black Friday” and send it by email and webhook."."""
    trigger = catalogue.trigger(distribution.trigger_key)
    action = catalogue.action(distribution.action_key)
    params = distribution.trigger_params or {}
    if trigger is None:
        opening = "With no trigger chosen yet"
    elif trigger.mode == catalogue.Mode.MANUAL:
        audience = distribution.audience or {}
        if audience.get("type") == "segment":
            who = "everyone in " + _name(Segment, project, audience.get("segment"))
        elif audience.get("type") == "customer":
            who = _customer_name(project, audience.get("customer"))
        else:
            who = "(no audience chosen yet)"
        opening = f"Ten minutes after Save & Send, for {who}"
    else:
        when = WHEN.get(trigger.key, trigger.description.rstrip(".").lower()).format(
            event=f"“{params.get('event_name', '')}”",
            campaign=_name(Campaign, project, params.get("campaign")),
            segment=_name(Segment, project, params.get("segment")),
        )
        opening = f"When {when}"
        rule = params.get("validation_rule")
        if rule:
            found = ValidationRule.objects.for_project(project).filter(public_id=rule).first()
            if found is not None:
                opening += f" and {describe_rule(found)}"
    if action is None:
        doing = "do nothing yet (no action chosen)"
    elif action.key == "publish_codes":
        doing = "publish a code from " + _name(
            Campaign, project, (distribution.action_params or {}).get("campaign")
        )
    elif action.key == "notify_promotion":
        tier = (distribution.action_params or {}).get("promotion_tier")
        doing = "tell them about the promotion " + _name(PromotionTier, project, tier)
    else:
        doing = action.label[0].lower() + action.label[1:]
    labels = [CHANNEL_WORDS.get(kind, kind) for kind in channels]
    if not labels:
        sending = "but no channel is added yet"
    else:
        joined = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
        sending = f"and send it by {joined}"
    return f"{opening}, {doing} {sending}."
