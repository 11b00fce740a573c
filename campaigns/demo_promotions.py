"""Demo data: a promotion with two tiers, each guarded by a validation rule on the order amount."""

from __future__ import annotations

from django.db import transaction

from campaigns.models import Campaign, ValidationRule
from campaigns.services import campaign_create
from campaigns.validation_rules.services import validation_rule_create
from tenancy.models import Project

DEMO_PROMOTION = "Spend more, save more"
# (rule name, minimum order amount in cents, tier name, percent off)
DEMO_TIERS = [
    ("Order of $50 or more", 5_000, "10% over $50", 10),
    ("Order of $100 or more", 10_000, "20% over $100", 20),
]


def _rule(project: Project, name: str, cents: int) -> ValidationRule:
    existing = ValidationRule.objects.for_project(project).filter(name=name).first()
    if existing is not None:
        return existing
    return validation_rule_create(
        project=project,
        fields={
            "name": name,
            "rules": {
                "1": {"name": "order.amount", "conditions": {"$more_than_equal": [cents]}, "rules": {}},
                "logic": "1",
            },
            "error": {"message": f"The order must be ${cents // 100} or more."},
            "context_type": "campaign.promotion",
        },
    )


def seed_promotions(project: Project) -> Campaign:
    """The demo promotion, created once; run again, it returns the one that exists."""
    existing = Campaign.objects.for_project(project).filter(name=DEMO_PROMOTION).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        tiers = []
        for hierarchy, (rule_name, cents, tier_name, percent) in enumerate(DEMO_TIERS, start=1):
            rule = _rule(project, rule_name, cents)
            tiers.append(
                {
                    "name": tier_name,
                    "banner": f"Save {percent}% on orders of ${cents // 100} or more",
                    "action": {
                        "discount": {"type": "PERCENT", "percent_off": percent, "effect": "APPLY_TO_ORDER"}
                    },
                    "hierarchy": hierarchy,
                    "validation_rules": [rule.public_id],
                }
            )
        return campaign_create(
            project=project,
            fields={
                "name": DEMO_PROMOTION,
                "campaign_type": "PROMOTION",
                "type": "STATIC",
                "description": "Two tiers: the more the order, the bigger the discount.",
                "promotion": {"tiers": tiers},
            },
        )
