"""One evaluator for every caller: each rule name and operator against hand-built contexts."""

from __future__ import annotations

import pytest

from campaigns.models import ValidationRule
from campaigns.validation_rules import (
    InvalidRules,
    RuleContext,
    RuleOutcome,
    check_rules,
    rules_evaluate,
    segments_available,
    validation_rule_evaluate,
    validation_rules_evaluate_all,
)
from customers.models import Customer
from tenancy.models import Project
from tests.campaigns.rules_support import segment_membership

PROJECT = Project(pk=1)  # the evaluator never queries: an unsaved stand-in is enough


def one_rule(name, conditions, **extra):
    return {"1": {"name": name, "conditions": conditions, "rules": {}, **extra}, "logic": "1"}


def passes(rules, context):
    stored, _ = check_rules(rules, segments_available=segments_available())
    return rules_evaluate(project=PROJECT, rules=stored, context=context).passed


ORDER = {
    "amount": 12_000,
    "initial_amount": 15_000,
    "metadata": {
        "location": "Santorini",
        "channel": "web-shop",
        "gifts": 2,
        "tags": ["vip", "eu"],
        "paid": True,
    },
    "items": [
        {"product_id": "prod_shoe", "quantity": 2, "amount": 8_000},
        {"source_id": "sku-hat", "amount": 4_000, "sku": {"id": "sku_hat", "source_id": "sku-hat"}},
        {"product": {"id": "prod_bag", "source_id": "bag"}, "quantity": 1, "price": 0},
    ],
}
CUSTOMER = Customer(metadata={"tier": "gold", "age": 34, "email_opt_in": False})
EVENT = {"plan": "premium", "seats": 12}


@pytest.mark.parametrize(
    ("operator", "values", "expected"),
    [
        ("$is", [12_000], True),
        ("$is", [1, 12_000], True),
        ("$is", [1], False),
        ("$is_not", [12_000], False),
        ("$is_not", [1], True),
        ("$in", [5, 12_000], True),
        ("$in", [5], False),
        ("$not_in", [5, 12_000], False),
        ("$not_in", [5], True),
        ("$more_than", [11_999], True),
        ("$more_than", [12_000], False),
        ("$more_than_equal", [12_000], True),
        ("$more_than_equal", [12_001], False),
        ("$less_than", [12_001], True),
        ("$less_than", [12_000], False),
        ("$less_than_equal", [12_000], True),
        ("$less_than_equal", [11_999], False),
        ("$more_than_or_equal", [12_000], True),  # Voucherify's other spellings
        ("$greater_than_or_equal", [12_001], False),
        ("$less_than_or_equal", [12_000], True),
        ("$has_value", [], True),
        ("$is_unknown", [], False),
    ],
)
def test_order_amount_with_each_numeric_operator(operator, values, expected):
    assert passes(one_rule("order.amount", {operator: values}), RuleContext(order=ORDER)) is expected


@pytest.mark.parametrize(
    ("name", "conditions", "expected"),
    [
        ("order.initial_amount", {"$is": [15_000]}, True),
        ("order.initial_amount", {"$more_than": [15_000]}, False),
        ("order.items.count", {"$is": [4]}, True),  # 2 shoes + a hat + a bag: units, not lines
        ("order.items.count", {"$less_than": [4]}, False),
        ("order.items.any", {"$is": ["prod_shoe"]}, True),
        ("order.items.any", {"$in": ["nothing", "sku-hat"]}, True),
        ("order.items.any", {"$is": [{"id": "prod_bag", "object": "product"}]}, True),
        ("order.items.any", {"$is": [{"source_id": "bag"}]}, True),
        ("order.items.any", {"$is": ["prod_sock"]}, False),
        ("order.items.any", {"$is_not": ["prod_sock"]}, True),
        ("order.items.any", {"$not_in": ["sku_hat"]}, False),
        ("redemption.count.per_customer", {"$less_than": [3]}, True),
        ("redemption.count.per_customer", {"$less_than": [2]}, False),
    ],
)
def test_order_item_and_redemption_count_rules(name, conditions, expected):
    context = RuleContext(order=ORDER, redemption_count_per_customer=lambda: 2)

    assert passes(one_rule(name, conditions), context) is expected


@pytest.mark.parametrize(
    ("property_", "operator", "values", "expected"),
    [
        ("location", "$is", ["Santorini"], True),
        ("location", "$is", ["santorini"], False),  # case matters, as in Voucherify
        ("location", "$is_not", ["Mykonos"], True),
        ("location", "$in", ["Mykonos", "Santorini"], True),
        ("location", "$not_in", ["Santorini"], False),
        ("channel", "$contains", ["shop"], True),
        ("channel", "$contains", ["store"], False),
        ("channel", "$starts_with", ["web"], True),
        ("channel", "$starts_with", ["shop"], False),
        ("channel", "$ends_with", ["shop"], True),
        ("channel", "$ends_with", ["web"], False),
        ("gifts", "$more_than", [1], True),
        ("gifts", "$less_than_equal", [1], False),
        ("gifts", "$is", [2], True),
        ("gifts", "$is", ["2"], False),  # a string is not the number
        ("tags", "$contains", ["vip"], True),
        ("tags", "$is", ["eu"], True),
        ("paid", "$is", [True], True),
        ("paid", "$is", [1], False),  # a boolean is not a number
        ("location", "$more_than", [3], False),  # a string never compares as a number
        ("missing", "$is_unknown", [], True),
        ("missing", "$has_value", [], False),
        ("missing", "$is", ["x"], False),
        ("missing", "$is_not", ["x"], True),
        ("missing", "$more_than", [0], False),
        ("location", "$has_value", True, True),
    ],
)
def test_order_metadata_with_each_operator(property_, operator, values, expected):
    rules = one_rule("order.metadata", {operator: values}, property=property_)

    assert passes(rules, RuleContext(order=ORDER)) is expected


@pytest.mark.parametrize(
    ("name", "property_", "conditions", "context", "expected"),
    [
        ("customer.metadata", "tier", {"$is": ["gold"]}, RuleContext(customer=CUSTOMER), True),
        ("customer.metadata", "age", {"$more_than_equal": [18]}, RuleContext(customer=CUSTOMER), True),
        ("customer.metadata", "email_opt_in", {"$is": [True]}, RuleContext(customer=CUSTOMER), False),
        (
            "customer.metadata",
            "tier",
            {"$is": ["gold"]},
            RuleContext(customer={"metadata": {"tier": "gold"}}),
            True,
        ),
        ("customer.metadata", "tier", {"$is": ["gold"]}, RuleContext(), False),
        (
            "custom_event.metadata",
            "plan",
            {"$is": ["premium"]},
            RuleContext(custom_event_metadata=EVENT),
            True,
        ),
        (
            "custom_event.metadata",
            "seats",
            {"$less_than": [10]},
            RuleContext(custom_event_metadata=EVENT),
            False,
        ),
        ("custom_event.metadata", "plan", {"$is_unknown": []}, RuleContext(), True),
    ],
)
def test_customer_and_custom_event_metadata(name, property_, conditions, context, expected):
    assert passes(one_rule(name, conditions, property=property_), context) is expected


def test_several_operators_in_one_rule_must_all_hold():
    between = one_rule("order.amount", {"$more_than": [10_000], "$less_than": [20_000]})
    above = one_rule("order.amount", {"$more_than": [10_000], "$less_than": [11_000]})

    assert passes(between, RuleContext(order=ORDER))
    assert not passes(above, RuleContext(order=ORDER))


def test_without_an_order_order_rules_are_unknown():
    assert not passes(one_rule("order.amount", {"$more_than": [0]}), RuleContext())
    assert passes(one_rule("order.amount", {"$is_unknown": []}), RuleContext())
    assert not passes(one_rule("order.items.count", {"$more_than_equal": [0]}), RuleContext())


def test_an_order_without_amount_is_measured_by_its_items():
    order = {"items": [{"amount": 3_000}, {"price": 1_000, "quantity": 2}]}

    assert passes(one_rule("order.amount", {"$is": [5_000]}), RuleContext(order=order))
    assert passes(one_rule("order.initial_amount", {"$is": [5_000]}), RuleContext(order=order))


def test_an_unknown_redemption_count_fails_a_limit():
    assert not passes(one_rule("redemption.count.per_customer", {"$less_than": [1]}), RuleContext())
    assert passes(
        one_rule("redemption.count.per_customer", {"$less_than": [1]}),
        RuleContext(redemption_count_per_customer=0),
    )


def test_the_redemption_count_lookup_runs_only_when_a_rule_needs_it():
    calls = []
    rules = {
        "1": {"name": "order.amount", "conditions": {"$more_than": [1_000_000]}},
        "2": {"name": "redemption.count.per_customer", "conditions": {"$less_than": [1]}},
        "logic": "1 and 2",
    }

    passes(rules, RuleContext(order=ORDER, redemption_count_per_customer=lambda: calls.append(1) or 0))

    assert calls == []


def test_the_outcome_names_the_failing_rule_its_error_key_and_the_most_specific_message():
    rules = {
        "1": {"name": "customer.metadata", "property": "tier", "conditions": {"$is": ["gold"]}},
        "2": {
            "name": "order.amount",
            "conditions": {"$more_than": [50_000]},
            "error": {"message": "Spend $500 or more"},
        },
        "3": {"name": "redemption.count.per_customer", "conditions": {"$less_than": [1]}},
        "logic": "1 and (2 or 3)",
    }
    stored, _ = check_rules(rules, segments_available=False)
    context = RuleContext(customer=CUSTOMER, order=ORDER, redemption_count_per_customer=5)

    outcome = rules_evaluate(project=PROJECT, rules=stored, context=context, error_message="Not for you")
    no_gold = rules_evaluate(
        project=PROJECT, rules=stored, context=RuleContext(order=ORDER), error_message="Not for you"
    )
    no_gold_default = rules_evaluate(project=PROJECT, rules=stored, context=RuleContext(order=ORDER))

    assert outcome == RuleOutcome(
        passed=False,
        rule_number="2",
        rule_name="order.amount",
        error_key="order_rules_violated",
        error_message="Spend $500 or more",
    )
    assert (no_gold.rule_number, no_gold.error_key, no_gold.error_message) == (
        "1",
        "customer_rules_violated",
        "Not for you",
    )
    assert no_gold_default.error_message == "Customer does not match validation rules"


def test_redemption_rules_report_redemption_rules_violated():
    stored, _ = check_rules(
        one_rule("redemption.count.per_customer", {"$less_than": [1]}), segments_available=False
    )

    outcome = rules_evaluate(
        project=PROJECT, rules=stored, context=RuleContext(redemption_count_per_customer=1)
    )

    assert (outcome.error_key, outcome.error_message) == (
        "redemption_rules_violated",
        "Redemption does not match validation rules",
    )


def test_a_rule_set_without_rules_always_passes():
    assert rules_evaluate(project=PROJECT, rules={"logic": ""}, context=RuleContext()).passed


def test_validation_rule_evaluate_reads_a_saved_rule_and_names_it_on_failure():
    rule = ValidationRule(
        public_id="val_x",
        rules=check_rules(one_rule("order.amount", {"$more_than": [20_000]}), segments_available=False)[0],
        error_message="Orders over $200 only",
    )

    passed = validation_rule_evaluate(
        project=PROJECT, rule=rule, context=RuleContext(order={"amount": 25_000})
    )
    failed = validation_rule_evaluate(project=PROJECT, rule=rule, context=RuleContext(order=ORDER))

    assert passed == RuleOutcome(passed=True)
    assert (failed.passed, failed.validation_rule_id, failed.error_message) == (
        False,
        "val_x",
        "Orders over $200 only",
    )


def test_every_rule_of_a_redeemable_must_pass_and_the_first_failure_is_reported():
    def rule(public_id, cents):
        return ValidationRule(
            public_id=public_id,
            rules=check_rules(one_rule("order.amount", {"$more_than": [cents]}), segments_available=False)[0],
        )

    context = RuleContext(order=ORDER)

    assert validation_rules_evaluate_all(
        project=PROJECT, rules=[rule("a", 1), rule("b", 2)], context=context
    ).passed
    outcome = validation_rules_evaluate_all(
        project=PROJECT, rules=[rule("a", 1), rule("b", 99_999), rule("c", 99_999)], context=context
    )
    assert outcome.validation_rule_id == "b"


# --- customer.segment: refused until the segments app registers its membership lookup -------------------

SEGMENT_RULE = one_rule("customer.segment", {"$is": ["seg_vip"]})


def test_segment_rules_are_refused_while_segments_are_not_available():
    with (
        segment_membership(None),
        pytest.raises(InvalidRules, match=r"Rule 1 \(customer.segment\): .*not available yet"),
    ):
        check_rules(SEGMENT_RULE, segments_available=False)


@pytest.fixture
def segments():
    memberships = {}
    with segment_membership(lambda project, customer: memberships.get(customer.public_id, set())):
        yield memberships


def test_a_registered_segment_membership_enables_and_answers_segment_rules(segments):
    segments["cust_in"] = {"seg_vip", "seg_eu"}
    inside, outside = Customer(public_id="cust_in"), Customer(public_id="cust_out")
    not_vip = one_rule("customer.segment", {"$not_in": ["seg_vip"]})

    assert segments_available()
    assert passes(SEGMENT_RULE, RuleContext(customer=inside))
    assert not passes(SEGMENT_RULE, RuleContext(customer=outside))
    assert not passes(SEGMENT_RULE, RuleContext())
    assert passes(not_vip, RuleContext(customer=outside))
    assert not passes(not_vip, RuleContext(customer=inside))


def test_a_context_that_knows_the_segments_overrides_the_lookup(segments):
    stored, _ = check_rules(SEGMENT_RULE, segments_available=True)

    outcome = rules_evaluate(project=PROJECT, rules=stored, context=RuleContext(segment_ids={"seg_vip"}))

    assert outcome.passed
