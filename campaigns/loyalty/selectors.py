"""Reads of loyalty data used by more than one caller (the API, segments, the dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from campaigns.models import LoyaltyCard, LoyaltyPointsBucket, LoyaltyTier, Voucher
from customers.models import Customer
from tenancy.models import Project


@dataclass(frozen=True)
class MemberState:
    """A customer's standing in one loyalty program."""

    campaign_id: str  # the campaign's public id
    campaign_name: str
    card_code: str
    points: int  # points ever added to the card
    balance: int  # points available now
    tier_id: str | None  # the tier's public id, None without a tier
    tier_name: str | None
    tier_expires_at: date | None


def loyalty_member_state(project: Project, customer: Customer) -> dict[str, MemberState]:
    """campaign public id → the customer's points and tier in that program, for every program they are
    a member of (one query). Segments filter on these; the dashboard's customer page shows them."""
    cards = (
        LoyaltyCard.objects.for_project(project)
        .filter(customer=customer)
        .select_related("campaign", "voucher", "tier")
        .order_by("created_at", "pk")
    )
    return {
        card.campaign.public_id: MemberState(
            campaign_id=card.campaign.public_id,
            campaign_name=card.campaign.name,
            card_code=card.voucher.code,
            points=card.voucher.loyalty_points or 0,
            balance=card.voucher.loyalty_balance or 0,
            tier_id=card.tier.public_id if card.tier else None,
            tier_name=card.tier.name if card.tier else None,
            tier_expires_at=card.tier_expires_at,
        )
        for card in cards
    }


def card_by_code(project: Project, code: str) -> LoyaltyCard | None:
    """The membership behind a loyalty card code; None for a missing code, another project's, or a code
    nobody holds as a member."""
    return (
        LoyaltyCard.objects.for_project(project)
        .select_related("voucher", "voucher__campaign", "campaign", "customer", "tier")
        .filter(voucher__code=code)
        .first()
    )


def voucher_by_code(project: Project, code: str) -> Voucher | None:
    return Voucher.objects.for_project(project).filter(code=code).first()


def next_expiration(project: Project, card_ids: list[int]) -> dict[int, tuple[date, int]]:
    """card id → (the soonest expiry day of its points, the points expiring that day)."""
    rows = (
        LoyaltyPointsBucket.objects.for_project(project)
        .filter(card_id__in=card_ids, remaining_points__gt=0, expires_at__isnull=False)
        .order_by("card_id", "expires_at")
        .values_list("card_id", "expires_at", "remaining_points")
    )
    result: dict[int, tuple[date, int]] = {}
    for card_id, expires_at, points in rows:
        if card_id not in result:
            result[card_id] = (expires_at, points)
        elif result[card_id][0] == expires_at:
            result[card_id] = (expires_at, result[card_id][1] + points)
    return result


def tiers_of(project: Project, campaign_id: int) -> list[LoyaltyTier]:
    return list(
        LoyaltyTier.objects.for_project(project).filter(campaign_id=campaign_id).order_by("points_from", "pk")
    )
