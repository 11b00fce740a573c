"""The demo loyalty program: complete on the first run, unchanged by a second."""

from __future__ import annotations

import pytest

from campaigns.demo_loyalty import seed_loyalty
from campaigns.models import EarningRule, LoyaltyCard, LoyaltyTier, RewardAssignment
from tests.campaigns.loyalty.support import loyalty_state
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_seed_loyalty_builds_the_program_and_is_idempotent(project):
    for number in range(12):
        CustomerFactory(project=project, source_id=f"demo-customer-{number:05d}")

    seed_loyalty(project)
    first = loyalty_state()
    seed_loyalty(project)

    assert loyalty_state() == first
    assert list(
        LoyaltyTier.objects.for_project(project).order_by("points_from").values_list("name", flat=True)
    ) == [
        "Bronze",
        "Silver",
        "Gold",
    ]
    assert EarningRule.objects.for_project(project).get().event == "customer.order.paid"
    assert RewardAssignment.objects.for_project(project).count() == 3
    cards = LoyaltyCard.objects.for_project(project).select_related("tier", "voucher")
    assert cards.count() == 12
    assert {card.tier.name for card in cards} == {"Bronze", "Silver"}
    assert sum(card.voucher.loyalty_balance for card in cards) == sum((n * 137) % 3_500 for n in range(12))
