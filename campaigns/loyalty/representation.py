"""Voucherify's loyalty objects: members (loyalty card vouchers), balances, tiers, buckets, earning
rules, rewards, reward assignments and reward redemptions."""

from __future__ import annotations

from datetime import date
from typing import Any

from campaigns.loyalty.ledger import Movement
from campaigns.models import (
    EarningRule,
    LoyaltyCard,
    LoyaltyPointsBucket,
    LoyaltyTier,
    LoyaltyTransaction,
    Reward,
    RewardAssignment,
    RewardRedemption,
)
from campaigns.representation import voucher_object
from customers.representation import customer_object
from tenancy.formats import iso


def member_object(card: LoyaltyCard, next_expiration: tuple[date, int] | None = None) -> dict[str, Any]:
    """The card as Voucherify's voucher (type LOYALTY_CARD) with its holder; rows preloaded."""
    body = voucher_object(card.voucher, holder_public_id=card.customer.public_id)
    body["loyalty_card"].update(
        {
            "next_expiration_date": next_expiration[0].isoformat() if next_expiration else None,
            "next_expiration_points": next_expiration[1] if next_expiration else None,
            "expired_points": card.expired_points,
            "subtracted_points": card.subtracted_points,
        }
    )
    body["holder"] = {
        "id": card.customer.public_id,
        "source_id": card.customer.source_id,
        "object": "customer",
    }
    return body


def balance_object(card: LoyaltyCard, movement: Movement) -> dict[str, Any]:
    return {
        "points": movement.transaction.points,
        "total": movement.points,
        "balance": movement.balance,
        "type": "loyalty_card",
        "object": "balance",
        "operation_type": "MANUAL",
        "related_object": {"type": "voucher", "id": card.voucher.public_id},
    }


TRANSACTION_TYPES = {
    "POINTS_ADDED": "POINTS_ADDITION",
    "POINTS_REMOVED": "POINTS_REMOVAL",
    "POINTS_ACCRUED": "POINTS_ACCRUAL",
    "POINTS_EXPIRED": "POINTS_EXPIRATION",
    "POINTS_REDEEMED": "POINTS_REDEMPTION",
}


def transaction_object(entry: LoyaltyTransaction, card: LoyaltyCard) -> dict[str, Any]:
    manual = entry.kind in ("POINTS_ADDED", "POINTS_REMOVED")
    details: dict[str, Any] = {
        "balance": {
            "type": "loyalty_card",
            "object": "balance",
            "points": entry.points,
            "balance": entry.balance_after,
            "operation_type": "MANUAL" if manual else "AUTOMATIC",
            "related_object": {"id": card.voucher.public_id, "type": "voucher"},
        }
    }
    if entry.earning_rule_id is not None and entry.earning_rule is not None:
        details["earning_rule"] = {"id": entry.earning_rule.public_id, "source": {"banner": None}}
    return {
        "id": entry.public_id,
        "source_id": entry.source_id,
        "voucher_id": card.voucher.public_id,
        "campaign_id": card.campaign.public_id,
        "source": "API" if manual else None,
        "reason": entry.reason,
        "type": TRANSACTION_TYPES[entry.kind],
        "details": details,
        "related_transaction_id": None,
        "created_at": iso(entry.created_at),
    }


def tier_object(
    tier: LoyaltyTier, *, campaign_public_id: str, card: LoyaltyCard | None = None
) -> dict[str, Any]:
    points = {"from": tier.points_from, "to": tier.points_to}
    body: dict[str, Any] = {
        "id": tier.public_id,
        "name": tier.name,
        "campaign_id": campaign_public_id,
        "metadata": tier.metadata,
        "earning_rules": tier.earning_rules,
        "rewards": tier.rewards,
        "points": points,
        "config": {"points": points},
        "created_at": iso(tier.created_at),
        "updated_at": iso(tier.updated_at),
        "object": "loyalty_tier",
    }
    if card is not None:
        body["expiration"] = {
            "customer_id": card.customer.public_id,
            "campaign_id": campaign_public_id,
            "tier_id": tier.public_id,
            "start_date": card.tier_since.isoformat() if card.tier_since else None,
            "expiration_date": card.tier_expires_at.isoformat() if card.tier_expires_at else None,
            "created_at": iso(card.created_at),
            "updated_at": iso(card.updated_at),
        }
    return body


def bucket_object(
    bucket: LoyaltyPointsBucket, *, voucher_public_id: str, campaign_public_id: str
) -> dict[str, Any]:
    return {
        "id": bucket.public_id,
        "voucher_id": voucher_public_id,
        "campaign_id": campaign_public_id,
        "bucket": {"total_points": bucket.remaining_points},
        "status": bucket.status,
        "expires_at": bucket.expires_at.isoformat() if bucket.expires_at else None,
        "created_at": iso(bucket.created_at),
        "updated_at": iso(bucket.updated_at),
        "object": "loyalty_points_bucket",
    }


def earning_rule_object(rule: EarningRule) -> dict[str, Any]:
    campaign = rule.campaign
    custom_event = None
    if rule.event != EarningRule.ORDER_PAID:
        custom_event = {"schema_id": (rule.custom_event or {}).get("schema_id")}
    return {
        "id": rule.public_id,
        "object": "earning_rule",
        "event": rule.event,
        "custom_event": custom_event,
        "loyalty": rule.loyalty,
        "source": {
            "banner": (rule.source or {}).get("banner"),
            "object_id": campaign.public_id,
            "object_type": "campaign",
        },
        "active": rule.active,
        "start_date": iso(rule.start_date),
        "expiration_date": iso(rule.expiration_date),
        "validity_timeframe": rule.validity_timeframe,
        "validity_day_of_week": rule.validity_day_of_week,
        "validity_hours": rule.validity_hours,
        "metadata": rule.metadata,
        "created_at": iso(rule.created_at),
        "updated_at": iso(rule.updated_at),
    }


def reward_object(reward: Reward) -> dict[str, Any]:
    return {
        "id": reward.public_id,
        "name": reward.name,
        "stock": reward.stock,
        "redeemed": reward.redeemed,
        "attributes": reward.attributes or {},
        "metadata": reward.metadata or {},
        "type": reward.type,
        "parameters": reward.parameters,
        "created_at": iso(reward.created_at),
        "updated_at": iso(reward.updated_at),
        "object": "reward",
    }


def assignment_object(assignment: RewardAssignment) -> dict[str, Any]:
    return {
        "id": assignment.public_id,
        "reward_id": assignment.reward.public_id,
        "related_object_id": assignment.campaign.public_id,
        "related_object_type": "campaign",
        "parameters": {"loyalty": {"points": assignment.points}},
        "created_at": iso(assignment.created_at),
        "updated_at": iso(assignment.updated_at),
        "object": "reward_assignment",
    }


def reward_redemption_object(redemption: RewardRedemption, card: LoyaltyCard) -> dict[str, Any]:
    """A Voucherify redemption of the card, with the reward it bought and the code that reward published."""
    reward = redemption.reward
    customer = card.customer
    reward_body: dict[str, Any] = {
        **reward_object(reward),
        "assignment_id": redemption.assignment.public_id if redemption.assignment else None,
        "loyalty_tier_id": card.tier.public_id if card.tier_id and card.tier else None,
        "customer": {"id": customer.public_id, "source_id": customer.source_id, "object": "customer"},
    }
    if redemption.voucher is not None:
        reward_body["voucher"] = voucher_object(redemption.voucher, holder_public_id=customer.public_id)
    return {
        "id": redemption.public_id,
        "object": "redemption",
        "date": iso(redemption.created_at),
        "customer_id": customer.public_id,
        "tracking_id": customer.source_id,
        "metadata": redemption.metadata,
        "result": "SUCCESS",
        "status": "SUCCEEDED",
        "channel": {"channel_type": "API"},
        "customer": customer_object(customer),
        "related_object_type": "voucher",
        "related_object_id": card.voucher.public_id,
        "voucher": voucher_object(card.voucher, holder_public_id=customer.public_id),
        "reward": reward_body,
        "loyalty_card": {"points": redemption.points},
    }
