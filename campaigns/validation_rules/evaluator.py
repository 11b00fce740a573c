"""Evaluating a validation rule against what is known at the moment: one evaluator for every caller.

Callers build a `RuleContext` and call `validation_rule_evaluate`:

- **Redemptions** (a voucher or promotion tier with validation rules):
  `RuleContext(customer=customer, order=order, redemption_count_per_customer=lambda: <count>)`;
  on failure, `outcome.error_key` is Voucherify's key (`customer_rules_violated`,
  `order_rules_violated`, `redemption_rules_violated`) and `outcome.error_message` the message to
  return in the error body's `error.message`.
- **Distribution conditions** (context types `distribution.order.paid`, `.created`, `.updated`,
  `.canceled`): `RuleContext(customer=event_customer, order=the_order)`;
  `distribution.custom_event`: `RuleContext(customer=event_customer,
  custom_event_metadata=event.metadata)`. Only `outcome.passed` matters there.
- **Earning rules** (`earning_rule.order.paid`, `earning_rule.custom_event`): the same two shapes.

The evaluator reads only the context (plus the registered segment membership for
`customer.segment`): it never queries on its own, so a caller controls its cost. Values it cannot
know (no order, a missing metadata key) are *unknown*: comparisons with them fail, `$is_not` /
`$not_in` hold, and `$is_unknown` is true.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from campaigns.validation_rules.catalogue import EQUALITY, RULE_NAMES, canonical_operator
from campaigns.validation_rules.logic import evaluate_logic, parse_logic

if TYPE_CHECKING:
    from campaigns.models import ValidationRule
    from customers.models import Customer
    from tenancy.models import Project

DEFAULT_MESSAGES = {
    "customer_rules_violated": "Customer does not match validation rules",
    "order_rules_violated": "Order does not match validation rules",
    "redemption_rules_violated": "Redemption does not match validation rules",
}


# --- Segment membership: the extension point the segments app fills --------------------------------

SegmentMembership = Callable[["Project", "Customer"], Collection[str]]
_segment_membership: SegmentMembership | None = None


def register_segment_membership(provider: SegmentMembership | None) -> None:
    """Enable `customer.segment` rules: `provider(project, customer)` returns the public ids
    (`seg_...`) of the segments the customer is in. The segments app calls this once, from its
    `AppConfig.ready()`; until then `customer.segment` rules are refused when saved."""
    global _segment_membership
    _segment_membership = provider


def segments_available() -> bool:
    return _segment_membership is not None


# Which of some ids are segments of the project: registered by the segments app next to the
# membership, so a rule naming a segment that is not the project's is refused when saved.
SegmentLookup = Callable[["Project", Collection[str]], Collection[str]]
_segment_lookup: SegmentLookup | None = None


def register_segment_lookup(lookup: SegmentLookup | None) -> None:
    """`lookup(project, ids)` returns those of `ids` that are segments of the project."""
    global _segment_lookup
    _segment_lookup = lookup


def unknown_segment_ids(*, project: Project, segment_ids: Collection[str]) -> list[str]:
    """The ids among `segment_ids` that are no segment of the project (none without a lookup)."""
    if _segment_lookup is None or not segment_ids:
        return []
    known = set(_segment_lookup(project, segment_ids))
    return [identifier for identifier in segment_ids if identifier not in known]


def segment_ids_of_customer(*, project: Project, customer: Customer | None) -> frozenset[str]:
    """The segments `customer` is in, by the registered provider (empty without one or a customer)."""
    if customer is None or _segment_membership is None:
        return frozenset()
    return frozenset(_segment_membership(project, customer))


# --- Context and outcome -------------------------------------------------------------------------------


@dataclass
class RuleContext:
    """What a rule may look at. Every field is optional; a missing one makes its rules *unknown*.

    - `customer`: a `customers.Customer` (or a mapping with `metadata`).
    - `order`: a `customers.Order` or a mapping with `amount`, `initial_amount` (cents), `items`
      (Voucherify order items: `product_id`, `sku_id`, `source_id`, `quantity`, `amount`, `price`,
      `product{id, source_id}`, `sku{id, source_id}`) and `metadata`.
    - `custom_event_metadata`: the metadata of the custom event being evaluated.
    - `redemption_count_per_customer`: how often this customer redeemed the redeemable already; an
      int, or a callable returning one (called only if a rule needs it).
    - `segment_ids`: the customer's segment ids (or a callable returning them), overriding the
      registered segment membership; for callers that already know them.
    """

    customer: Any = None
    order: Any = None
    custom_event_metadata: Mapping[str, Any] | None = None
    redemption_count_per_customer: int | Callable[[], int] | None = None
    segment_ids: Collection[str] | Callable[[], Collection[str]] | None = None


@dataclass(frozen=True)
class RuleOutcome:
    """`passed`, or the rule to blame: its number, name, Voucherify error key and message."""

    passed: bool
    rule_number: str | None = None
    rule_name: str | None = None
    error_key: str | None = None
    error_message: str | None = None
    validation_rule_id: str | None = None


# --- Reading the context ----------------------------------------------------------------------------


def _field(source: Any, name: str) -> Any:
    if source is None:
        return None
    if isinstance(source, Mapping):
        return source.get(name)
    return getattr(source, name, None)


def _metadata_value(metadata: Any, key: str) -> Any:
    return metadata.get(key) if isinstance(metadata, Mapping) else None


def _items(order: Any) -> list[Mapping[str, Any]]:
    items = _field(order, "items")
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def _order_amount(order: Any, name: str) -> int | None:
    if order is None:
        return None
    value = _field(order, name)
    if value is None and name == "initial_amount":
        value = _field(order, "amount")
    if value is None:
        items = _items(order)
        amounts = [
            item.get("amount")
            if item.get("amount") is not None
            else (item["price"] * (item.get("quantity") or 1) if item.get("price") is not None else None)
            for item in items
        ]
        if items and all(isinstance(amount, int | float) for amount in amounts):
            value = sum(amounts)
    return value


def _items_count(order: Any) -> int | None:
    """Units in the order: each item's `quantity` (an item without one counts once)."""
    if order is None:
        return None
    return sum(item.get("quantity") if item.get("quantity") is not None else 1 for item in _items(order))


def _item_references(item: Mapping[str, Any]) -> set[str]:
    references = {item.get(key) for key in ("product_id", "sku_id", "source_id")}
    for nested in ("product", "sku"):
        inner = item.get(nested)
        if isinstance(inner, Mapping):
            references |= {inner.get("id"), inner.get("source_id")}
    return {reference for reference in references if isinstance(reference, str) and reference}


def _resolve(value: Any) -> Any:
    return value() if callable(value) else value


# --- Comparisons --------------------------------------------------------------------------------------


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, list):
        return any(_equal(element, expected) for element in actual)
    return actual == expected


def _number(value: Any) -> float | int | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _compare(operator: str, actual: Any, values: Any) -> bool:
    """One operator of a rule's conditions on a scalar (or list, for metadata arrays) value."""
    if operator == "$has_value":
        return actual is not None and actual != "" and actual != []
    if operator == "$is_unknown":
        return actual is None
    if operator in ("$is", "$in"):
        return actual is not None and any(_equal(actual, value) for value in values)
    if operator in ("$is_not", "$not_in"):
        return not (actual is not None and any(_equal(actual, value) for value in values))
    if operator in ("$contains", "$starts_with", "$ends_with"):
        if isinstance(actual, list):
            return operator == "$contains" and any(value in actual for value in values)
        if not isinstance(actual, str):
            return False
        test = {"$contains": str.__contains__, "$starts_with": str.startswith, "$ends_with": str.endswith}
        return any(test[operator](actual, value) for value in values)
    number, bound = _number(actual), _number(values[0])
    if number is None or bound is None:
        return False
    return {
        "$more_than": number > bound,
        "$more_than_equal": number >= bound,
        "$less_than": number < bound,
        "$less_than_equal": number <= bound,
    }[operator]


def _items_match(order: Any, operator: str, values: list[Any]) -> bool:
    wanted = set()
    for value in values:
        if isinstance(value, str):
            wanted.add(value)
        elif isinstance(value, Mapping):
            wanted |= {value.get("id"), value.get("source_id")} - {None}
    found = any(_item_references(item) & wanted for item in _items(order))
    return found if operator in ("$is", "$in") else not found


# --- One rule, then the whole rule set ----------------------------------------------------------------


def _rule_passes(rule: Mapping[str, Any], context: RuleContext, project: Project) -> bool:
    name = rule["name"]
    conditions = rule.get("conditions") or {}
    operators = [(canonical_operator(operator), values) for operator, values in conditions.items()]
    if name == "customer.segment":
        given = _resolve(context.segment_ids)
        segment_ids = (
            frozenset(given)
            if given is not None
            else segment_ids_of_customer(project=project, customer=context.customer)
        )
        return all(
            (bool(segment_ids & set(values)) if op in ("$is", "$in") else not segment_ids & set(values))
            for op, values in operators
            if op in EQUALITY
        )
    if name == "order.items.any":
        return all(_items_match(context.order, op, values) for op, values in operators)
    actual = _actual(name, rule, context)
    return all(_compare(op, actual, values) for op, values in operators)


def _actual(name: str, rule: Mapping[str, Any], context: RuleContext) -> Any:
    prop = rule.get("property")
    if name == "customer.metadata":
        return _metadata_value(_field(context.customer, "metadata"), prop)
    if name == "order.metadata":
        return _metadata_value(_field(context.order, "metadata"), prop)
    if name == "custom_event.metadata":
        return _metadata_value(context.custom_event_metadata, prop)
    if name in ("order.amount", "order.initial_amount"):
        return _order_amount(context.order, name.split(".", 1)[1])
    if name == "order.items.count":
        return _items_count(context.order)
    if name == "redemption.count.per_customer":
        return _resolve(context.redemption_count_per_customer)
    raise ValueError(f"unsupported rule name {name}")  # the catalogue refuses it before it is saved


def rules_evaluate(
    *,
    project: Project,
    rules: Mapping[str, Any],
    context: RuleContext,
    error_message: str | None = None,
) -> RuleOutcome:
    """Evaluate a stored rules JSON (as `check_rules` returned it) against `context`.

    `error_message`: the rule set's own message, used when the failing rule has none.
    """
    numbers = [key for key in rules if key != "logic"]
    logic = rules.get("logic") or " and ".join(sorted(numbers, key=int))
    if not logic:
        return RuleOutcome(passed=True)
    tree = parse_logic(logic, numbers)
    cache: dict[str, bool] = {}

    def passes(number: str) -> bool:
        if number not in cache:
            cache[number] = _rule_passes(rules[number], context, project)
        return cache[number]

    passed, culprit = evaluate_logic(tree, passes)
    if passed:
        return RuleOutcome(passed=True)
    rule = rules[culprit]
    key = RULE_NAMES[rule["name"]].error_key
    message = (rule.get("error") or {}).get("message") or error_message or DEFAULT_MESSAGES[key]
    return RuleOutcome(
        passed=False, rule_number=culprit, rule_name=rule["name"], error_key=key, error_message=message
    )


def validation_rule_evaluate(*, project: Project, rule: ValidationRule, context: RuleContext) -> RuleOutcome:
    """Whether `context` satisfies the validation rule; on failure, which numbered rule failed, with
    Voucherify's error key and the message to show (the rule's, the rule set's, or a default)."""
    outcome = rules_evaluate(
        project=project, rules=rule.rules or {}, context=context, error_message=rule.error_message or None
    )
    if outcome.passed:
        return outcome
    return RuleOutcome(
        passed=False,
        rule_number=outcome.rule_number,
        rule_name=outcome.rule_name,
        error_key=outcome.error_key,
        error_message=outcome.error_message,
        validation_rule_id=rule.public_id,
    )


def validation_rules_evaluate_all(
    *, project: Project, rules: Iterable[ValidationRule], context: RuleContext
) -> RuleOutcome:
    """Every rule must pass (a redeemable with several assigned rules); the first failure is returned."""
    for rule in rules:
        outcome = validation_rule_evaluate(project=project, rule=rule, context=context)
        if not outcome.passed:
            return outcome
    return RuleOutcome(passed=True)
