"""What validation-rule and promotion-tier tests check: that no rule, assignment, tier, campaign, code
or event moved."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from campaigns.models import PromotionTier, ValidationRule, ValidationRuleAssignment
from tests.campaigns.support import campaigns_state


def rules_state() -> dict[str, list[Any]]:
    return {
        **campaigns_state(),
        "rules": list(ValidationRule.objects.unscoped().order_by("pk").values()),
        "assignments": list(ValidationRuleAssignment.objects.unscoped().order_by("pk").values()),
        "tiers": list(PromotionTier.objects.unscoped().order_by("pk").values()),
    }


@contextmanager
def nothing_changes() -> Iterator[None]:
    """Then: no rule, assignment, tier, campaign, code, publication, customer or event changed."""
    before = rules_state()
    yield
    assert rules_state() == before


def order_over(cents: int) -> dict[str, Any]:
    """A rules JSON: the order's amount is at least `cents`."""
    return {
        "1": {"name": "order.amount", "conditions": {"$more_than_equal": [cents]}, "rules": {}},
        "logic": "1",
    }


@contextmanager
def segment_membership(provider) -> Iterator[None]:
    """Within the block, `customer.segment` rules ask `provider` (None: segments are unavailable);
    whatever the segments app registered is restored after."""
    from campaigns.validation_rules import evaluator

    saved = evaluator._segment_membership
    evaluator.register_segment_membership(provider)
    try:
        yield
    finally:
        evaluator.register_segment_membership(saved)
