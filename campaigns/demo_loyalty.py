"""Demo data for loyalty: the "Demo Rewards" program with Bronze / Silver / Gold tiers, an earning rule
on paid orders, three rewards, and members among the demo customers with points (and so tiers).

`seed_loyalty(project)` is idempotent: whatever exists is kept, members join once, and their points
are added under a fixed `source_id` each, so a re-run adds none.
"""

from __future__ import annotations

from django.db import transaction

from campaigns import codes
from campaigns.loyalty.earning import earning_rules_create
from campaigns.loyalty.ledger import balance_update
from campaigns.loyalty.members import member_add
from campaigns.loyalty.rewards import reward_assign, reward_create
from campaigns.loyalty.tiers import tiers_create
from campaigns.models import Campaign, EarningRule, LoyaltyTier, Reward, RewardAssignment
from campaigns.selectors import campaign_get
from campaigns.services import campaign_create
from customers.models import Customer
from tenancy.models import Project

PROGRAM = "Demo Rewards"
COUPONS = "Demo Rewards coupons"
MEMBERS = 200
TIERS = [
    {"name": "Bronze", "points": {"from": 0, "to": 499}, "metadata": {"color": "#cd7f32"}},
    {"name": "Silver", "points": {"from": 500, "to": 1999}, "metadata": {"color": "#c0c0c0"}},
    {"name": "Gold", "points": {"from": 2000, "to": None}, "metadata": {"color": "#ffd700"}},
]
ONE_POINT_PER_EURO = {
    "event": "customer.order.paid",
    "loyalty": {
        "type": "PROPORTIONAL",
        "calculation_type": "ORDER_AMOUNT",
        "order": {"amount": {"every": 100, "points": 1}},
    },
    "source": {"banner": "1 point for every euro spent"},
}


def _program(project: Project) -> Campaign:
    existing = Campaign.objects.for_project(project).filter(name=PROGRAM).first()
    if existing is not None:
        return existing
    return campaign_create(
        project=project,
        fields={
            "name": PROGRAM,
            "description": "Points for every euro, three tiers, rewards to spend them on.",
            "campaign_type": "LOYALTY_PROGRAM",
            "type": "AUTO_UPDATE",
            "auto_join": True,
            "voucher": {
                "type": "LOYALTY_CARD",
                "loyalty_card": {
                    "points": 0,
                    "expiration_rules": {
                        "period_type": "MONTH",
                        "period_value": 12,
                        "rounding_type": "END_OF_MONTH",
                    },
                },
                "code_config": {"pattern": "DEMO-LC-#######", "charset": "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"},
            },
            "loyalty_tiers_expiration": {
                "qualification_type": "BALANCE",
                "start_date": {"type": "IMMEDIATE"},
                "expiration_date": {"type": "BALANCE_DROP"},
            },
        },
    )


def _coupons(project: Project) -> Campaign:
    existing = Campaign.objects.for_project(project).filter(name=COUPONS).first()
    if existing is not None:
        return existing
    campaign = campaign_create(
        project=project,
        fields={
            "name": COUPONS,
            "campaign_type": "DISCOUNT_COUPONS",
            "type": "AUTO_UPDATE",
            "voucher": {
                "type": "DISCOUNT_VOUCHER",
                "discount": {"type": "AMOUNT", "amount_off": 500},
                "code_config": {"pattern": "REWARD-#####", "charset": "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"},
            },
        },
    )
    codes.generate_codes(campaign=campaign, count=200)
    return campaign


def _rewards(project: Project, program: Campaign, coupons: Campaign) -> None:
    catalogue = [
        ({"name": "5 EUR off your next order", "parameters": {"campaign": {"id": coupons.public_id}}}, 500),
        ({"name": "Demo Shop tote bag", "parameters": {"product": {"id": "prod_tote"}}, "stock": 50}, 1500),
        ({"name": "Pay with points", "parameters": {"coin": {"exchange_ratio": 0.01}}}, 100),
    ]
    for fields, points in catalogue:
        reward = Reward.objects.for_project(project).filter(name=fields["name"]).first()
        if reward is None:
            reward = reward_create(
                project=project,
                fields=fields,
                campaign_lookup=lambda identifier: campaign_get(project=project, identifier=identifier),
            )
        if not RewardAssignment.objects.for_project(project).filter(reward=reward, campaign=program).exists():
            reward_assign(project=project, reward=reward, campaign=program, points=points)


def seed_loyalty(project: Project) -> str:
    """Create (or complete) the demo loyalty program; returns a one-line summary."""
    with transaction.atomic():
        program = _program(project)
        if not LoyaltyTier.objects.for_project(project).filter(campaign=program).exists():
            tiers_create(project=project, campaign=program, items=TIERS)
        if not EarningRule.objects.for_project(project).filter(campaign=program).exists():
            earning_rules_create(project=project, campaign=program, items=[ONE_POINT_PER_EURO])
        _rewards(project, program, _coupons(project))
    customers = list(
        Customer.objects.for_project(project)
        .filter(source_id__startswith="demo-customer-")
        .order_by("source_id")[:MEMBERS]
    )
    for number, customer in enumerate(customers):
        card, _ = member_add(project=project, campaign=program, customer=customer)
        # A spread over all three tiers: 0 to 3,400 points.
        points = (number * 137) % 3_500
        if points:
            balance_update(
                project=project,
                card_id=card.pk,
                points=points,
                reason="demo",
                source_id=f"demo-seed-{customer.source_id}",
            )
    return f"{PROGRAM}: {len(customers)} members, 3 tiers, 3 rewards"
