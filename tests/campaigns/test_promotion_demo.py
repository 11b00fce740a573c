"""The demo promotion: two tiers, each with an order-amount rule that the evaluator applies."""

from __future__ import annotations

import pytest

from campaigns.demo_promotions import seed_promotions
from campaigns.models import Campaign, PromotionTier, ValidationRule, ValidationRuleAssignment
from campaigns.validation_rules import RuleContext, validation_rule_evaluate

pytestmark = pytest.mark.django_db


def test_seeding_twice_makes_one_promotion_with_two_guarded_tiers(project):
    first = seed_promotions(project)
    second = seed_promotions(project)

    assert first.pk == second.pk
    assert Campaign.objects.for_project(project).count() == 1
    tiers = list(PromotionTier.objects.for_project(project).order_by("hierarchy"))
    assert [t.name for t in tiers] == ["10% over $50", "20% over $100"]
    assert ValidationRule.objects.for_project(project).count() == 2
    assert ValidationRuleAssignment.objects.for_project(project).count() == 2


@pytest.mark.parametrize(
    ("amount", "eligible"),
    [(4_999, []), (5_000, ["10% over $50"]), (12_000, ["10% over $50", "20% over $100"])],
)
def test_the_demo_tiers_rules_decide_by_order_amount(project, amount, eligible):
    seed_promotions(project)
    context = RuleContext(order={"amount": amount})

    passing = [
        tier.name
        for tier in PromotionTier.objects.for_project(project).order_by("hierarchy")
        if all(
            validation_rule_evaluate(project=project, rule=assignment.rule, context=context).passed
            for assignment in ValidationRuleAssignment.objects.for_project(project).filter(
                promotion_tier=tier
            )
        )
    ]

    assert passing == eligible


def test_the_demo_rule_explains_a_too_small_order(project):
    seed_promotions(project)
    rule = ValidationRule.objects.for_project(project).get(name="Order of $100 or more")

    outcome = validation_rule_evaluate(
        project=project, rule=rule, context=RuleContext(order={"amount": 6_000})
    )

    assert (outcome.passed, outcome.error_key, outcome.error_message) == (
        False,
        "order_rules_violated",
        "The order must be $100 or more.",
    )


def test_rules_guarding_a_tier_are_read_in_one_query(project, django_assert_num_queries):
    from campaigns.validation_rules.selectors import rules_guarding

    seed_promotions(project)
    tier = PromotionTier.objects.for_project(project).get(hierarchy=2)

    with django_assert_num_queries(1):
        rules = rules_guarding(
            project=project, related_object_type="promotion_tier", related_object_id=tier.public_id
        )

    assert [rule.name for rule in rules] == ["Order of $100 or more"]
