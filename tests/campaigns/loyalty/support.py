"""Loyalty programs built through the services, and the "nothing changed" check over loyalty rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from campaigns.loyalty.members import member_add
from campaigns.loyalty.tiers import tiers_create
from campaigns.models import (
    Campaign,
    EarningRule,
    LoyaltyCard,
    LoyaltyPointsBucket,
    LoyaltyTier,
    LoyaltyTransaction,
    Reward,
    RewardAssignment,
    RewardRedemption,
)
from customers.models import Customer
from eventbus.models import DomainEvent
from tenancy.models import Project
from tests.campaigns.factories import make_campaign
from tests.campaigns.support import campaigns_state
from tests.factories import CustomerFactory

MONTHLY_EXPIRY = {"period_type": "MONTH", "period_value": 3, "rounding_type": "END_OF_MONTH"}


def make_program(
    project: Project,
    *,
    name: str = "Rewards",
    points: int = 0,
    expiration_rules: dict[str, Any] | None = None,
    tiers: list[tuple[str, int, int | None]] | None = None,
    **fields: Any,
) -> Campaign:
    """A LOYALTY_PROGRAM campaign without codes (cards are made as members join), with optional tiers
    given as (name, from, to)."""
    loyalty_card: dict[str, Any] = {"points": points}
    if expiration_rules is not None:
        loyalty_card["expiration_rules"] = expiration_rules
    campaign = make_campaign(
        project,
        name=name,
        campaign_type="LOYALTY_PROGRAM",
        type="AUTO_UPDATE",
        voucher={
            "type": "LOYALTY_CARD",
            "loyalty_card": loyalty_card,
            "code_config": {"pattern": "LC-########"},
        },
        **fields,
    )
    if tiers:
        tiers_create(
            project=project,
            campaign=campaign,
            items=[{"name": tier, "points": {"from": low, "to": high}} for tier, low, high in tiers],
        )
    return campaign


def join(
    project: Project, campaign: Campaign, customer: Customer | None = None, **fields: Any
) -> LoyaltyCard:
    customer = customer or CustomerFactory(project=project, **fields)
    card, _ = member_add(project=project, campaign=campaign, customer=customer)
    return card


def api_join(api: Any, campaign: Campaign, source_id: str) -> dict[str, Any]:
    """Join through the API; the member (card) body."""
    response = api.post(
        f"/v1/loyalties/{campaign.public_id}/members", {"customer": {"source_id": source_id}}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def events_of(project: Project, event_type: str) -> list[DomainEvent]:
    return list(DomainEvent.objects.for_project(project).filter(type=event_type).order_by("pk"))


def event_types(project: Project) -> list[str]:
    return list(DomainEvent.objects.for_project(project).order_by("pk").values_list("type", flat=True))


def loyalty_state() -> dict[str, list[Any]]:
    return {
        **campaigns_state(),
        **{
            model.__name__: list(model.objects.unscoped().order_by("pk").values())
            for model in (
                LoyaltyCard,
                LoyaltyPointsBucket,
                LoyaltyTier,
                LoyaltyTransaction,
                EarningRule,
                Reward,
                RewardAssignment,
                RewardRedemption,
            )
        },
    }


@contextmanager
def nothing_changes() -> Iterator[None]:
    """Then: no loyalty row, code, publication, customer or event was created, updated or deleted."""
    before = loyalty_state()
    yield
    assert loyalty_state() == before
