"""What a validation rule may say: its rule names, operators and context types, and the check of a
rules JSON against them (`check_rules`), run before anything is saved."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from campaigns.validation_rules.logic import InvalidLogic, parse_logic

MAX_RULES = 50
MAX_VALUES = 500

EQUALITY = ("$is", "$is_not", "$in", "$not_in")
ORDERING = ("$more_than", "$more_than_equal", "$less_than", "$less_than_equal")
TEXT = ("$contains", "$starts_with", "$ends_with")
PRESENCE = ("$has_value", "$is_unknown")
OPERATORS = (*EQUALITY, *ORDERING, *TEXT, *PRESENCE)
# Spellings Voucherify's docs also use for the same comparisons.
OPERATOR_ALIASES = {
    "$more_than_or_equal": "$more_than_equal",
    "$greater_than_or_equal": "$more_than_equal",
    "$less_than_or_equal": "$less_than_equal",
}


@dataclass(frozen=True)
class RuleName:
    """One attribute a rule can test. `kind` decides its operators and value types; `error_key` is
    the Voucherify error key a redemption reports when a rule of this name fails."""

    kind: str  # "integer" | "metadata" | "segment" | "items"
    error_key: str

    @property
    def operators(self) -> tuple[str, ...]:
        return {
            "integer": (*EQUALITY, *ORDERING, *PRESENCE),
            "metadata": OPERATORS,
            "segment": EQUALITY,
            "items": EQUALITY,
        }[self.kind]

    @property
    def needs_property(self) -> bool:
        return self.kind == "metadata"


RULE_NAMES: dict[str, RuleName] = {
    "customer.segment": RuleName("segment", "customer_rules_violated"),
    "customer.metadata": RuleName("metadata", "customer_rules_violated"),
    "order.amount": RuleName("integer", "order_rules_violated"),
    "order.initial_amount": RuleName("integer", "order_rules_violated"),
    "order.metadata": RuleName("metadata", "order_rules_violated"),
    "order.items.count": RuleName("integer", "order_rules_violated"),
    "order.items.any": RuleName("items", "order_rules_violated"),
    "custom_event.metadata": RuleName("metadata", "customer_rules_violated"),
    "redemption.count.per_customer": RuleName("integer", "redemption_rules_violated"),
}

RULE_TYPES = ["expression", "basic", "advanced", "complex"]

# The SDK's closed enum (voucherify 6.1.1, ValidationRule.context_type): a value outside it breaks
# every client that reads the rule back.
CONTEXT_TYPES = [
    "earning_rule.order.paid",
    "earning_rule.custom_event",
    "earning_rule.customer.segment.entered",
    "earning_rule.customer.tier.joined",
    "earning_rule.customer.tier.left",
    "earning_rule.customer.tier.upgraded",
    "earning_rule.customer.tier.downgraded",
    "earning_rule.customer.tier.prolonged",
    "campaign.discount_coupons",
    "campaign.discount_coupons.discount.apply_to_order",
    "campaign.discount_coupons.discount.apply_to_items",
    "campaign.discount_coupons.discount.apply_to_items_proportionally",
    "campaign.discount_coupons.discount.apply_to_items_proportionally_by_quantity",
    "campaign.discount_coupons.discount.apply_to_items_by_quantity",
    "campaign.discount_coupons.discount.fixed.apply_to_items",
    "campaign.discount_coupons.discount.percent.apply_to_items",
    "campaign.gift_vouchers",
    "campaign.gift_vouchers.gift.apply_to_order",
    "campaign.gift_vouchers.gift.apply_to_items",
    "campaign.referral_program",
    "campaign.referral_program.discount.apply_to_order",
    "campaign.referral_program.discount.apply_to_items",
    "campaign.referral_program.discount.apply_to_items_proportionally",
    "campaign.referral_program.discount.apply_to_items_proportionally_by_quantity",
    "campaign.referral_program.discount.apply_to_items_by_quantity",
    "campaign.referral_program.discount.fixed.apply_to_items",
    "campaign.referral_program.discount.percent.apply_to_items",
    "campaign.promotion",
    "campaign.promotion.discount.apply_to_order",
    "campaign.promotion.discount.apply_to_items",
    "campaign.promotion.discount.apply_to_items_proportionally",
    "campaign.promotion.discount.apply_to_items_proportionally_by_quantity",
    "campaign.promotion.discount.apply_to_items_by_quantity",
    "campaign.promotion.discount.fixed.apply_to_items",
    "campaign.promotion.discount.percent.apply_to_items",
    "campaign.loyalty_program",
    "voucher.discount_voucher",
    "voucher.discount_voucher.discount.apply_to_order",
    "voucher.discount_voucher.discount.apply_to_items",
    "voucher.discount_voucher.discount.apply_to_items_proportionally",
    "voucher.discount_voucher.discount.apply_to_items_proportionally_by_quantity",
    "voucher.discount_voucher.discount.apply_to_items_by_quantity",
    "voucher.discount_voucher.discount.fixed.apply_to_items",
    "voucher.discount_voucher.discount.percent.apply_to_items",
    "voucher.gift_voucher",
    "voucher.gift_voucher.gift.apply_to_order",
    "voucher.gift_voucher.gift.apply_to_items",
    "voucher.loyalty_card",
    "distribution.custom_event",
    "distribution.order.paid",
    "distribution.order.created",
    "distribution.order.canceled",
    "distribution.order.updated",
    "reward_assignment.pay_with_points",
    "global",
]


class InvalidRules(ValueError):
    """The rules JSON is malformed; the message names the rule number, name or operator at fault."""


def canonical_operator(operator: str) -> str:
    return OPERATOR_ALIASES.get(operator, operator)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _is_item_reference(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, dict) and any(
        isinstance(value.get(key), str) and value[key] for key in ("id", "source_id")
    )


# For each kind and operator family: what one value must be, described for the error message.
_VALUE_CHECKS: dict[tuple[str, str], tuple[Callable[[Any], bool], str]] = {
    ("integer", "equality"): (_is_integer, "an integer"),
    ("integer", "ordering"): (_is_integer, "an integer"),
    ("metadata", "equality"): (_is_scalar, "a string, number or boolean"),
    ("metadata", "ordering"): (_is_number, "a number"),
    ("metadata", "text"): (lambda value: isinstance(value, str), "a string"),
    ("segment", "equality"): (lambda value: isinstance(value, str) and bool(value), "a segment id"),
    ("items", "equality"): (_is_item_reference, "a product or SKU id, or an object with an id or source_id"),
}


def _family(operator: str) -> str:
    if operator in EQUALITY:
        return "equality"
    if operator in ORDERING:
        return "ordering"
    if operator in TEXT:
        return "text"
    return "presence"


def _check_conditions(label: str, rule_name: RuleName, conditions: Any) -> None:
    if not isinstance(conditions, dict) or not conditions:
        raise InvalidRules(f"{label}: conditions must be an object with at least one operator")
    for operator, values in conditions.items():
        canonical = canonical_operator(operator)
        if canonical not in OPERATORS:
            raise InvalidRules(f"{label}: unknown operator {operator}; use one of {', '.join(OPERATORS)}")
        if canonical not in rule_name.operators:
            allowed = ", ".join(rule_name.operators)
            raise InvalidRules(f"{label}: operator {operator} is not allowed here; use one of {allowed}")
        family = _family(canonical)
        if family == "presence":
            if values is not True and not isinstance(values, list):
                raise InvalidRules(f"{label}: {operator} takes an empty array (or true)")
            continue
        if not isinstance(values, list) or not values:
            raise InvalidRules(f"{label}: {operator} takes a non-empty array of values")
        if len(values) > MAX_VALUES:
            raise InvalidRules(f"{label}: {operator} takes at most {MAX_VALUES} values")
        if family == "ordering" and len(values) != 1:
            raise InvalidRules(f"{label}: {operator} takes exactly one value")
        check, described = _VALUE_CHECKS[(rule_name.kind, family)]
        for value in values:
            if not check(value):
                raise InvalidRules(f"{label}: every value of {operator} must be {described}, got {value!r}")


_RULE_KEYS = {"name", "property", "conditions", "rules", "error"}


def _check_rule(number: str, rule: Any, *, segments_available: bool) -> None:
    if not isinstance(rule, dict):
        raise InvalidRules(f"Rule {number}: must be an object")
    name = rule.get("name")
    label = f"Rule {number} ({name})" if isinstance(name, str) else f"Rule {number}"
    unknown = sorted(set(rule) - _RULE_KEYS)
    if unknown:
        raise InvalidRules(f"{label}: unknown field {', '.join(unknown)}")
    if not isinstance(name, str) or name not in RULE_NAMES:
        raise InvalidRules(
            f"{label}: unknown rule name {name!r}; supported: {', '.join(RULE_NAMES)}"
            if isinstance(name, str)
            else f"{label}: name is required (a string)"
        )
    if name == "customer.segment" and not segments_available:
        raise InvalidRules(
            f"{label}: customer.segment rules are not available yet: they are enabled when segments are"
        )
    rule_name = RULE_NAMES[name]
    prop = rule.get("property")
    if rule_name.needs_property:
        if not isinstance(prop, str) or not prop or len(prop) > 255:
            raise InvalidRules(
                f"{label}: property (the metadata key) is required, a string of 1 to 255 characters"
            )
    elif prop is not None:
        raise InvalidRules(f"{label}: property is only used by metadata rules")
    nested = rule.get("rules")
    if nested is not None and not isinstance(nested, dict):
        raise InvalidRules(f"{label}: rules must be an object")
    if nested:
        raise InvalidRules(f"{label}: nested rules are not supported yet; leave rules empty")
    error = rule.get("error")
    if error is not None and (
        not isinstance(error, dict)
        or set(error) - {"message"}
        or not isinstance(error.get("message", ""), str)
    ):
        raise InvalidRules(f'{label}: error must be {{"message": "..."}}')
    _check_conditions(label, rule_name, rule.get("conditions"))


def check_rules(rules: Any, *, segments_available: bool) -> tuple[dict[str, Any], str]:
    """The rules JSON as it will be stored, and its logic (defaulting to every rule joined by `and`).

    Raises `InvalidRules` naming the rule number, rule name or operator at fault.
    """
    if rules is None:
        return {}, ""
    if not isinstance(rules, Mapping):
        raise InvalidRules("rules must be an object")
    numbers = [key for key in rules if key != "logic"]
    for key in numbers:
        if not isinstance(key, str) or not key.isdigit() or key != str(int(key)) or int(key) < 1:
            raise InvalidRules(f'rules: unknown key {key!r}; rules are numbered "1", "2"... beside "logic"')
    if len(numbers) > MAX_RULES:
        raise InvalidRules(f"rules: at most {MAX_RULES} rules")
    for number in sorted(numbers, key=int):
        _check_rule(number, rules[number], segments_available=segments_available)
    logic = rules.get("logic")
    if logic is None or (isinstance(logic, str) and not logic.strip() and not numbers):
        logic = " and ".join(sorted(numbers, key=int))
    if numbers or logic:
        try:
            parse_logic(logic, numbers)
        except InvalidLogic as error:
            raise InvalidRules(f"logic: {error}") from None
    stored = {number: rules[number] for number in sorted(numbers, key=int)}
    stored["logic"] = logic
    return stored, logic
