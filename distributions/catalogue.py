"""The catalogue: every trigger, action and channel a distribution can use, and which combine.

One declarative table that the API, the dashboard and validation all read; nothing else hard-codes
the matrix. Event type names are Voucherify's distribution trigger event types (voucherify-api.md,
section 14). The rules, in one place each:

- a trigger allows the actions that name its key in `Action.triggers` (voucher, reward, tier,
  referral and publishing triggers allow only message actions);
- every allowed (trigger, action) pair offers email and SMS; the integrations (Mailchimp, Braze)
  only when the action carries a code (they push the code to the customer's profile in that tool);
- the webhook channel is offered where section 14 says so: `Action.webhook_categories` names the
  trigger categories whose pair with the action offers it (a manual plain message has none).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    MANUAL = "manual"
    CUSTOM_EVENT = "custom_event"
    CART = "cart"
    PUBLISHING = "publishing"
    REFERRAL = "referral"
    REWARDS = "rewards"
    SEGMENT = "segment"
    VOUCHER = "voucher"
    LOYALTY_TIER = "loyalty_tier"


CATEGORY_LABELS = {
    Category.MANUAL: "Manual message",
    Category.CUSTOM_EVENT: "Custom event",
    Category.CART: "Cart",
    Category.PUBLISHING: "Publishing codes",
    Category.REFERRAL: "Referral",
    Category.REWARDS: "Customer rewards",
    Category.SEGMENT: "Segment",
    Category.VOUCHER: "Voucher",
    Category.LOYALTY_TIER: "Loyalty tier",
}


class Mode(StrEnum):
    MANUAL = "manual"
    AUTOMATIC = "automatic"


class ParameterKind(StrEnum):
    """What a parameter's value names; each kind has a resolver in `distributions.parameters`."""

    CAMPAIGN = "campaign"
    LOYALTY_CAMPAIGN = "loyalty_campaign"
    SEGMENT = "segment"
    LOYALTY_TIER = "loyalty_tier"
    CUSTOM_EVENT_NAME = "custom_event_name"
    VALIDATION_RULE = "validation_rule"
    PROMOTION_TIER = "promotion_tier"
    CUSTOMER = "customer"


CODE_CAMPAIGN_TYPES = ("DISCOUNT_COUPONS", "GIFT_VOUCHERS", "LOYALTY_PROGRAM", "REFERRAL_PROGRAM")


@dataclass(frozen=True)
class Parameter:
    name: str  # the key inside `params`
    kind: ParameterKind
    label: str
    required: bool = True
    # For campaign parameters: the campaign types accepted (empty: any).
    campaign_types: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": str(self.kind),
            "label": self.label,
            "required": self.required,
            "campaign_types": list(self.campaign_types),
        }


def _campaign(label: str, *types: str) -> Parameter:
    return Parameter("campaign", ParameterKind.CAMPAIGN, label, campaign_types=types)


LOYALTY_CAMPAIGN = Parameter(
    "campaign", ParameterKind.LOYALTY_CAMPAIGN, "Loyalty campaign", campaign_types=("LOYALTY_PROGRAM",)
)
OPTIONAL_VALIDATION_RULE = Parameter(
    "validation_rule", ParameterKind.VALIDATION_RULE, "Validation rule", required=False
)


@dataclass(frozen=True)
class Trigger:
    key: str
    category: Category
    label: str
    description: str
    event_type: str
    parameters: tuple[Parameter, ...] = ()

    @property
    def mode(self) -> Mode:
        return Mode.MANUAL if self.category == Category.MANUAL else Mode.AUTOMATIC

    @property
    def required_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.required)

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    explanation: str
    triggers: frozenset[str]
    carries_code: bool
    webhook_categories: frozenset[Category]
    parameters: tuple[Parameter, ...] = ()

    @property
    def required_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.required)

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)


@dataclass(frozen=True)
class Channel:
    key: str
    label: str
    is_integration: bool
    # What Save & Send checks before a message can be built (the message editor comes later).
    required_settings: tuple[str, ...] = ()
    required_template: tuple[str, ...] = ()
    description: str = ""


TRIGGERS: tuple[Trigger, ...] = (
    Trigger(
        "manual",
        Category.MANUAL,
        "Send a message now",
        "Sent once, 10 minutes after Save & Send, to one customer or a segment.",
        "manual_distribution_schedule",
    ),
    Trigger(
        "custom_event",
        Category.CUSTOM_EVENT,
        "Custom event",
        "A named custom event was tracked for the customer.",
        "customer.custom_event",
        (
            Parameter("event_name", ParameterKind.CUSTOM_EVENT_NAME, "Custom event name"),
            OPTIONAL_VALIDATION_RULE,
        ),
    ),
    Trigger(
        "order_created",
        Category.CART,
        "Order created",
        "The customer's order was created.",
        "customer.order.created",
        (OPTIONAL_VALIDATION_RULE,),
    ),
    Trigger(
        "order_updated",
        Category.CART,
        "Order updated",
        "The customer's order was updated.",
        "customer.order.updated",
        (OPTIONAL_VALIDATION_RULE,),
    ),
    Trigger(
        "order_paid",
        Category.CART,
        "Order paid",
        "The customer's order was paid.",
        "customer.order.paid",
        (OPTIONAL_VALIDATION_RULE,),
    ),
    Trigger(
        "order_canceled",
        Category.CART,
        "Order canceled",
        "The customer's order was canceled.",
        "customer.order.canceled",
        (OPTIONAL_VALIDATION_RULE,),
    ),
    Trigger(
        "code_published",
        Category.PUBLISHING,
        "Code published",
        "A code of the selected campaign was published to the customer.",
        "customer.publication.succeeded",
        (_campaign("Campaign", *CODE_CAMPAIGN_TYPES),),
    ),
    Trigger(
        "customer_referred",
        Category.REFERRAL,
        "Customer was referred",
        "The customer was referred in the selected referral campaign.",
        "customer.referred",
        (_campaign("Referral campaign", "REFERRAL_PROGRAM"),),
    ),
    Trigger(
        "reward_redeemed",
        Category.REWARDS,
        "Reward redeemed",
        "The customer redeemed a reward in the selected loyalty campaign.",
        "customer.reward_redemptions.completed",
        (LOYALTY_CAMPAIGN,),
    ),
    Trigger(
        "segment_entered",
        Category.SEGMENT,
        "Customer entered segment",
        "The customer entered the selected segment.",
        "customer.segment.entered",
        (Parameter("segment", ParameterKind.SEGMENT, "Segment"),),
    ),
    Trigger(
        "segment_left",
        Category.SEGMENT,
        "Customer left segment",
        "The customer left the selected segment.",
        "customer.segment.left",
        (Parameter("segment", ParameterKind.SEGMENT, "Segment"),),
    ),
    Trigger(
        "gift_credits_added",
        Category.VOUCHER,
        "Gift credits added",
        "Credits were added to the customer's gift card of the selected campaign.",
        "customer.voucher.gift.balance_added",
        (_campaign("Gift card campaign", "GIFT_VOUCHERS"),),
    ),
    Trigger(
        "loyalty_points_added",
        Category.VOUCHER,
        "Loyalty points added",
        "Points were added to the customer's loyalty card of the selected campaign.",
        "customer.voucher.loyalty_card.points_added",
        (LOYALTY_CAMPAIGN,),
    ),
    Trigger(
        "loyalty_points_expired",
        Category.VOUCHER,
        "Loyalty card points expired",
        "Points on the customer's loyalty card of the selected campaign expired.",
        "customer.voucher.loyalty_card.points_expired",
        (LOYALTY_CAMPAIGN,),
    ),
    Trigger(
        "voucher_redeemed",
        Category.VOUCHER,
        "Voucher redeemed",
        "The customer redeemed a code of the selected campaign.",
        "customer.redemption.succeeded",
        (_campaign("Campaign", *CODE_CAMPAIGN_TYPES),),
    ),
    Trigger(
        "redemption_rolled_back",
        Category.VOUCHER,
        "Redemption rolled back",
        "A redemption of a code of the selected campaign was rolled back.",
        "customer.redemption.rollback.succeeded",
        (_campaign("Campaign", *CODE_CAMPAIGN_TYPES),),
    ),
    *(
        Trigger(
            key,
            Category.LOYALTY_TIER,
            label,
            description,
            event_type,
            (LOYALTY_CAMPAIGN, Parameter("loyalty_tier", ParameterKind.LOYALTY_TIER, "Tier", required=False)),
        )
        for key, label, description, event_type in (
            (
                "tier_joined",
                "Entered the tier structure",
                "The customer entered the selected campaign's tier structure.",
                "customer.loyalty.tier.joined",
            ),
            (
                "tier_left",
                "Left the tier structure",
                "The customer left the selected campaign's tier structure.",
                "customer.loyalty.tier.left",
            ),
            (
                "tier_upgraded",
                "Tier upgraded",
                "The customer moved up a tier.",
                "customer.loyalty.tier.upgraded",
            ),
            (
                "tier_downgraded",
                "Tier downgraded",
                "The customer moved down a tier.",
                "customer.loyalty.tier.downgraded",
            ),
            (
                "tier_prolonged",
                "Tier prolonged",
                "The customer's tier was prolonged.",
                "customer.loyalty.tier.prolonged",
            ),
            (
                "tier_points_rewarded",
                "Rewarded loyalty points",
                "The customer was rewarded loyalty points in the selected campaign.",
                "customer.rewarded.loyalty_points",
            ),
        )
    ),
)

_MESSAGE_ONLY = frozenset({Category.VOUCHER, Category.REWARDS, Category.LOYALTY_TIER, Category.REFERRAL})
_BROAD_CATEGORIES = frozenset({Category.MANUAL, Category.CUSTOM_EVENT, Category.CART, Category.SEGMENT})


def _keys(*categories: Category) -> frozenset[str]:
    return frozenset(t.key for t in TRIGGERS if t.category in categories)


ACTIONS: tuple[Action, ...] = (
    Action(
        "notify_promotion",
        "Notify about a promotion",
        "Tells the customer about a promotion tier they can use without a code.",
        triggers=_keys(*_BROAD_CATEGORIES),
        carries_code=False,
        webhook_categories=_BROAD_CATEGORIES,
        parameters=(Parameter("promotion_tier", ParameterKind.PROMOTION_TIER, "Promotion tier"),),
    ),
    Action(
        "publish_codes",
        "Send and publish unique codes",
        "Publishes one unique code of the campaign to each customer and sends it to them.",
        triggers=_keys(*_BROAD_CATEGORIES),
        carries_code=True,
        webhook_categories=_BROAD_CATEGORIES,
        parameters=(_campaign("Campaign", *CODE_CAMPAIGN_TYPES),),
    ),
    Action(
        "plain_message",
        "Send a plain message",
        "Sends a message with no code or promotion in it.",
        triggers=frozenset(t.key for t in TRIGGERS),
        carries_code=False,
        # Section 14: manual messages offer no webhook for a plain message; every automatic trigger does.
        webhook_categories=frozenset(Category) - {Category.MANUAL},
    ),
    Action(
        "credits_message",
        "Message with received credits",
        "Tells the customer how many gift credits they received and their balance.",
        triggers=frozenset({"gift_credits_added"}),
        carries_code=False,
        webhook_categories=frozenset(),
    ),
    Action(
        "points_message",
        "Message with received points",
        "Tells the customer how many loyalty points they received and their balance.",
        triggers=frozenset({"loyalty_points_added", "tier_points_rewarded"}),
        carries_code=False,
        webhook_categories=frozenset(),
    ),
    Action(
        "reward_message",
        "Message with reward details",
        "Tells the customer which reward they got.",
        triggers=frozenset({"reward_redeemed", "customer_referred"}),
        carries_code=False,
        webhook_categories=frozenset(),
    ),
    Action(
        "published_code_message",
        "Message with the promotion code just published",
        "Sends the customer the code that was just published to them.",
        triggers=frozenset({"code_published"}),
        carries_code=True,
        webhook_categories=frozenset(),
    ),
)

CHANNELS: tuple[Channel, ...] = (
    Channel("email", "Email", False, required_template=("subject",), description="An email."),
    Channel("sms", "SMS", False, required_template=("body",), description="A text message."),
    Channel(
        "webhook",
        "Webhook",
        False,
        required_settings=("url",),
        description="A signed HTTP POST to your endpoint.",
    ),
    Channel(
        "mailchimp", "Mailchimp", True, description="Pushes the code to the customer's Mailchimp profile."
    ),
    Channel("braze", "Braze", True, description="Pushes the code to the customer's Braze profile."),
)

TRIGGERS_BY_KEY = {t.key: t for t in TRIGGERS}
ACTIONS_BY_KEY = {a.key: a for a in ACTIONS}
CHANNELS_BY_KEY = {c.key: c for c in CHANNELS}
EVENT_TYPES = frozenset(t.event_type for t in TRIGGERS)


def trigger(key: str) -> Trigger | None:
    return TRIGGERS_BY_KEY.get(key)


def action(key: str) -> Action | None:
    return ACTIONS_BY_KEY.get(key)


def channel(key: str) -> Channel | None:
    return CHANNELS_BY_KEY.get(key)


def actions_for(trigger_key: str) -> list[Action]:
    return [a for a in ACTIONS if trigger_key in a.triggers]


def is_action_allowed(trigger_key: str, action_key: str) -> bool:
    found = ACTIONS_BY_KEY.get(action_key)
    return found is not None and trigger_key in found.triggers


def channels_for(trigger_key: str, action_key: str) -> list[Channel]:
    """The channels the (trigger, action) pair offers, in catalogue order; none for a disallowed pair."""
    found_trigger, found_action = TRIGGERS_BY_KEY.get(trigger_key), ACTIONS_BY_KEY.get(action_key)
    if found_trigger is None or found_action is None or trigger_key not in found_action.triggers:
        return []
    allowed = []
    for candidate in CHANNELS:
        if candidate.is_integration and not found_action.carries_code:
            continue
        if candidate.key == "webhook" and found_trigger.category not in found_action.webhook_categories:
            continue
        allowed.append(candidate)
    return allowed


def triggers_for_event_type(event_type: str) -> list[Trigger]:
    return [t for t in TRIGGERS if t.event_type == event_type]


def search_triggers(*, category: str | None = None, text: str | None = None) -> list[Trigger]:
    """Triggers of a category, and/or whose key, label, description, event type or category label
    contain every word of `text` (case-insensitive)."""
    words = (text or "").lower().split()
    found = []
    for candidate in TRIGGERS:
        if category and candidate.category != category:
            continue
        haystack = " ".join(
            (
                candidate.key,
                candidate.label,
                candidate.description,
                candidate.event_type,
                CATEGORY_LABELS[candidate.category],
            )
        ).lower()
        if all(word in haystack for word in words):
            found.append(candidate)
    return found


def _parameters(parameters: Iterable[Parameter]) -> list[dict]:
    return [p.as_dict() for p in parameters]


def catalogue_document(triggers: Iterable[Trigger] = TRIGGERS) -> dict:
    """The catalogue as the API serves it: triggers with their allowed actions and channels."""
    return {
        "object": "distribution_catalogue",
        "categories": [{"key": str(c), "label": CATEGORY_LABELS[c]} for c in Category],
        "triggers": [
            {
                "key": t.key,
                "category": str(t.category),
                "label": t.label,
                "description": t.description,
                "event_type": t.event_type,
                "mode": str(t.mode),
                "parameters": _parameters(t.parameters),
                "required_parameters": [p.name for p in t.required_parameters],
                "actions": [
                    {"key": a.key, "channels": [c.key for c in channels_for(t.key, a.key)]}
                    for a in actions_for(t.key)
                ],
            }
            for t in triggers
        ],
        "actions": [
            {
                "key": a.key,
                "label": a.label,
                "explanation": a.explanation,
                "carries_code": a.carries_code,
                "parameters": _parameters(a.parameters),
                "required_parameters": [p.name for p in a.required_parameters],
                "triggers": [t.key for t in TRIGGERS if t.key in a.triggers],
            }
            for a in ACTIONS
        ],
        "channels": [
            {
                "key": c.key,
                "label": c.label,
                "description": c.description,
                "is_integration": c.is_integration,
                "required_settings": list(c.required_settings),
                "required_template": list(c.required_template),
            }
            for c in CHANNELS
        ],
    }
