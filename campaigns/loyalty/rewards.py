"""Rewards: a catalogue of things bought with points, offered by loyalty programs at a price."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from campaigns.loyalty import ledger
from campaigns.loyalty.errors import LoyaltyRefused
from campaigns.loyalty.members import check_loyalty_campaign
from campaigns.loyalty.tiers import settle_tiers
from campaigns.models import Campaign, CampaignType, Reward, RewardAssignment, RewardRedemption, RewardType
from campaigns.publications import publication_create
from tenancy.ids import new_public_id
from tenancy.models import Project

REDEEMED_EVENT = "customer.reward_redemptions.completed"
REWARD_CAMPAIGN_TYPES = (
    CampaignType.DISCOUNT_COUPONS,
    CampaignType.GIFT_VOUCHERS,
    CampaignType.LOYALTY_PROGRAM,
)


def _reward_columns(project: Project, fields: Mapping[str, Any], *, campaign_lookup: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ("name", "stock", "metadata", "attributes"):
        if name in fields:
            values[name] = fields[name] if fields[name] is not None or name in ("name", "stock") else {}
    parameters = fields.get("parameters")
    if parameters is not None:
        kinds = [kind for kind in ("campaign", "coin", "product") if parameters.get(kind)]
        if len(kinds) != 1:
            raise LoyaltyRefused(
                "invalid_payload", "parameters must hold exactly one of campaign, coin or product."
            )
        kind = kinds[0]
        values["type"] = {
            "campaign": RewardType.CAMPAIGN,
            "coin": RewardType.COIN,
            "product": RewardType.MATERIAL,
        }[kind]
        values["campaign"] = None
        stored = dict(parameters[kind])
        if kind == "campaign":
            identifier = stored.get("id")
            campaign = campaign_lookup(identifier) if isinstance(identifier, str) else None
            if campaign is None:
                raise LoyaltyRefused(
                    "not_found", f"Cannot find campaign with id {identifier}", status_code=404
                )
            if campaign.campaign_type not in REWARD_CAMPAIGN_TYPES:
                raise LoyaltyRefused(
                    "invalid_payload",
                    f"A reward cannot hand out codes of a {campaign.campaign_type} campaign.",
                )
            values["campaign"] = campaign
            stored = {**stored, "id": campaign.public_id, "type": campaign.campaign_type}
        elif kind == "coin":
            ratio = stored.get("exchange_ratio")
            if isinstance(ratio, bool) or not isinstance(ratio, int | float) or ratio <= 0:
                raise LoyaltyRefused(
                    "invalid_payload", "parameters.coin.exchange_ratio must be a positive number."
                )
        values["parameters"] = {kind: stored}
    return values


@transaction.atomic
def reward_create(*, project: Project, fields: Mapping[str, Any], campaign_lookup: Any) -> Reward:
    """`POST /v1/rewards`. `campaign_lookup(identifier)` resolves a CAMPAIGN reward's campaign inside
    the project (id or name), None when it is missing or another project's."""
    if fields.get("parameters") is None:
        raise LoyaltyRefused("invalid_payload", "parameters is required: campaign, coin or product.")
    values = _reward_columns(project, fields, campaign_lookup=campaign_lookup)
    return Reward.objects.create(project=project, public_id=new_public_id("rew", 24), **values)


@transaction.atomic
def reward_update(
    *, project: Project, reward: Reward, fields: Mapping[str, Any], campaign_lookup: Any
) -> Reward:
    locked = Reward.objects.for_project(project).select_for_update().get(pk=reward.pk)
    values = _reward_columns(project, fields, campaign_lookup=campaign_lookup)
    if "type" in values and values["type"] != locked.type:
        raise LoyaltyRefused(
            "invalid_payload", f"A {locked.type} reward cannot become a {values['type']} reward."
        )
    for name, value in values.items():
        setattr(locked, name, value)
    locked.updated_at = timezone.now()
    locked.save()
    return locked


@transaction.atomic
def reward_delete(*, project: Project, reward: Reward) -> None:
    Reward.objects.for_project(project).filter(pk=reward.pk).delete()


@transaction.atomic
def reward_assign(
    *, project: Project, reward: Reward, campaign: Campaign, points: int | None
) -> RewardAssignment:
    """Offer `reward` in the loyalty program `campaign` for `points` (409 if it is offered already)."""
    check_loyalty_campaign(campaign)
    if points is None or points <= 0:
        raise LoyaltyRefused("invalid_payload", "parameters.loyalty.points must be a positive integer.")
    try:
        with transaction.atomic():
            return RewardAssignment.objects.create(
                project=project,
                public_id=new_public_id("rewa", 24),
                reward=reward,
                campaign=campaign,
                points=points,
            )
    except IntegrityError:
        raise LoyaltyRefused(
            "duplicate_found",
            f"Reward {reward.public_id} is already assigned to {campaign.name}.",
            status_code=409,
        ) from None


@transaction.atomic
def reward_assignment_update(
    *, project: Project, assignment: RewardAssignment, points: int
) -> RewardAssignment:
    if points <= 0:
        raise LoyaltyRefused("invalid_payload", "parameters.loyalty.points must be a positive integer.")
    RewardAssignment.objects.for_project(project).filter(pk=assignment.pk).update(
        points=points, updated_at=timezone.now()
    )
    assignment.refresh_from_db()
    return assignment


@transaction.atomic
def reward_assignment_delete(*, project: Project, assignment: RewardAssignment) -> None:
    RewardAssignment.objects.for_project(project).filter(pk=assignment.pk).delete()


def reward_redeem(
    *,
    project: Project,
    card_id: int,
    reward: Reward,
    metadata: Mapping[str, Any] | None = None,
) -> RewardRedemption:
    """`POST /v1/loyalties/{campaignId}/members/{memberId}/redemption`: the member buys `reward`.

    Takes the reward's price in points (soonest-expiring first), publishes a code of a CAMPAIGN reward's
    campaign to the member, counts the reward's stock, settles the tier and publishes
    `customer.reward_redemptions.completed`, all in one transaction: too few points
    (`loyalty_card_points_exceeded`), no stock left or no code left refuse the whole of it.
    """
    from eventbus.services import publish

    with transaction.atomic():
        card = ledger.lock_card(project, card_id)
        assignment = (
            RewardAssignment.objects.for_project(project)
            .filter(reward=reward, campaign_id=card.campaign_id)
            .first()
        )
        if assignment is None:
            raise LoyaltyRefused(
                "not_found",
                f"Cannot find reward with id {reward.public_id} in campaign {card.campaign.name}",
                status_code=404,
            )
        ledger.expire_due_on_cards(project, [card.pk])
        movement = ledger.take_points(
            project,
            card,
            assignment.points,
            kind=ledger.Kind.POINTS_REDEEMED,
            reason=f"reward {reward.public_id}",
        )
        taken = Reward.objects.for_project(project).filter(pk=reward.pk)
        if reward.stock is not None:
            taken = taken.filter(redeemed__lt=F("stock"))
        if not taken.update(redeemed=F("redeemed") + 1, updated_at=timezone.now()):
            raise LoyaltyRefused("quantity_exceeded", f"Reward {reward.name} is out of stock.")
        voucher = None
        if reward.type == RewardType.CAMPAIGN and reward.campaign is not None:
            result = publication_create(project=project, customer=card.customer, campaign=reward.campaign)
            voucher = result.publications[0].voucher
        redemption = RewardRedemption.objects.create(
            project=project,
            public_id=new_public_id("r", 24),
            card=card,
            reward=reward,
            assignment=assignment,
            customer=card.customer,
            points=assignment.points,
            voucher=voucher,
            metadata=dict(metadata or {}),
        )
        settle_tiers(project, [card.pk])
        refs: dict[str, Any] = {
            "campaign": card.campaign,
            "voucher": card.voucher,
            "reward": reward,
            "reward_assignment": assignment,
            "redemption": redemption,
            "transaction": movement.transaction,
        }
        if voucher is not None:
            refs["reward_voucher"] = voucher
        publish(
            project,
            REDEEMED_EVENT,
            customer=card.customer,
            refs=refs,
            data={"points": assignment.points, "balance": movement.balance, "reward_type": reward.type},
        )
    redemption.balance_after = movement.balance
    return redemption
