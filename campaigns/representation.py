"""Voucherify's campaign, voucher and publication objects, built from rows without extra queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.urls import reverse

from campaigns.models import (
    Campaign,
    PromotionTier,
    Publication,
    ValidationRuleAssignment,
    Voucher,
    VoucherType,
)
from campaigns.promotions import tiers_of_campaign
from campaigns.validation_rules.representation import assignment_object
from customers.representation import customer_object
from tenancy.formats import iso
from tenancy.models import Project

ASSET_SALT = "campaigns.voucher-asset"


def asset_token(voucher: Voucher, kind: str) -> str:
    """A signed, stable token naming the code and the asset: the URL needs no API key to be read."""
    return signing.Signer(salt=ASSET_SALT).sign_object(
        {"p": voucher.project_id, "c": voucher.code, "k": kind}
    )


def read_asset_token(token: str) -> dict[str, Any]:
    """The payload of a token; raises `signing.BadSignature` for a forged or altered one."""
    return signing.Signer(salt=ASSET_SALT).unsign_object(token)


def _asset(voucher: Voucher, kind: str) -> dict[str, str]:
    token = asset_token(voucher, kind)
    return {"id": token, "url": settings.SITE_URL + reverse("voucher-asset", kwargs={"token": token})}


def _campaign_voucher(campaign: Campaign) -> dict[str, Any]:
    template: dict[str, Any] = {
        "type": campaign.voucher_type,
        "code_config": campaign.code_config or {},
        "is_referral_code": campaign.is_referral_code,
        "redemption": {"quantity": campaign.redemption_quantity},
    }
    if campaign.discount is not None:
        template["discount"] = campaign.discount
    if campaign.gift is not None:
        template["gift"] = campaign.gift
    if campaign.loyalty_card is not None:
        template["loyalty_card"] = campaign.loyalty_card
    return template


def promotion_tier_object(tier: PromotionTier) -> dict[str, Any]:
    """Voucherify's PromotionTier; `tier` preloaded with its campaign and assignments (with rules)."""
    campaign = tier.campaign
    assignments = [assignment_object(assignment) for assignment in tier.assignments.all()]
    return {
        "id": tier.public_id,
        "created_at": iso(tier.created_at),
        "updated_at": iso(tier.updated_at),
        "name": tier.name,
        "banner": tier.banner,
        "action": tier.action,
        "metadata": tier.metadata,
        "hierarchy": tier.hierarchy,
        "promotion_id": campaign.public_id,
        "campaign": {
            "id": campaign.public_id,
            "start_date": iso(campaign.start_date),
            "expiration_date": iso(campaign.expiration_date),
            "validity_timeframe": campaign.validity_timeframe,
            "validity_day_of_week": campaign.validity_day_of_week,
            "validity_hours": campaign.validity_hours,
            "active": campaign.active,
            "category_id": None,
            "object": "campaign",
        },
        "campaign_id": campaign.public_id,
        "active": tier.active,
        "start_date": iso(tier.start_date),
        "expiration_date": iso(tier.expiration_date),
        "validity_timeframe": tier.validity_timeframe,
        "validity_day_of_week": tier.validity_day_of_week,
        "validity_hours": tier.validity_hours,
        "summary": {
            "redemptions": {"total_redeemed": tier.redeemed_count},
            "orders": {
                "total_amount": tier.orders_total_amount,
                "total_discount_amount": tier.orders_total_discount_amount,
            },
        },
        "object": "promotion_tier",
        "validation_rule_assignments": {
            "object": "list",
            "data_ref": "data",
            "data": assignments,
            "total": len(assignments),
        },
        "category_id": None,
        "categories": [],
    }


def _promotion(campaign: Campaign) -> dict[str, Any]:
    tiers = [
        promotion_tier_object(tier)
        for tier in tiers_of_campaign(project=Project(pk=campaign.project_id), campaign=campaign)
    ]
    return {"object": "list", "data_ref": "tiers", "tiers": tiers, "total": len(tiers), "has_more": False}


def attach_rule_assignments(*, project: Project, campaigns: Sequence[Campaign]) -> None:
    """Preload the validation rule assignments of `campaigns` (a page of a list) in one query."""
    by_pk = {campaign.pk: campaign for campaign in campaigns}
    for campaign in campaigns:
        campaign._rule_assignments = []
    if not by_pk:
        return
    rows = (
        ValidationRuleAssignment.objects.for_project(project)
        .filter(campaign_id__in=by_pk)
        .select_related("rule")
        .order_by("created_at", "pk")
    )
    for assignment in rows:
        by_pk[assignment.campaign_id]._rule_assignments.append(assignment)


def _rule_assignments(campaign: Campaign) -> dict[str, Any]:
    """The campaign's assignments: preloaded by `attach_rule_assignments`, or read now (one query)."""
    if not hasattr(campaign, "_rule_assignments"):
        attach_rule_assignments(project=Project(pk=campaign.project_id), campaigns=[campaign])
    data = [assignment_object(assignment) for assignment in campaign._rule_assignments]
    return {"object": "list", "data_ref": "data", "data": data, "total": len(data)}


def campaign_object(campaign: Campaign) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": campaign.public_id,
        "name": campaign.name,
        "description": campaign.description or None,
        "campaign_type": campaign.campaign_type,
        "type": campaign.type,
        "voucher": _campaign_voucher(campaign),
        "auto_join": campaign.auto_join,
        "join_once": campaign.join_once,
        "use_voucher_metadata_schema": campaign.use_voucher_metadata_schema,
        "validity_timeframe": campaign.validity_timeframe,
        "validity_day_of_week": campaign.validity_day_of_week,
        "validity_hours": campaign.validity_hours,
        "activity_duration_after_publishing": campaign.activity_duration_after_publishing,
        "vouchers_count": campaign.vouchers_count,
        "start_date": iso(campaign.start_date),
        "expiration_date": iso(campaign.expiration_date),
        "active": campaign.active,
        "metadata": campaign.metadata,
        "created_at": iso(campaign.created_at),
        "updated_at": iso(campaign.updated_at),
        "category": campaign.category,
        "category_id": None,
        "categories": [],
        "creation_status": campaign.creation_status,
        "vouchers_generation_status": campaign.creation_status,
        "readonly": False,
        "protected": False,
        "object": "campaign",
        "referral_program": campaign.referral_program,
        "loyalty_tiers_expiration": campaign.loyalty_tiers_expiration,
        "validation_rules_assignments": _rule_assignments(campaign),
    }
    if campaign.campaign_type == "PROMOTION":
        body["promotion"] = _promotion(campaign)
    return body


def voucher_object(voucher: Voucher, *, holder_public_id: str | None = None) -> dict[str, Any]:
    """`holder_public_id`: the customer its publication names, if any (the caller looks it up)."""
    campaign = voucher.campaign
    code = quote(voucher.code, safe="")
    body: dict[str, Any] = {
        "id": voucher.public_id,
        "code": voucher.code,
        "campaign": campaign.name if campaign else None,
        "campaign_id": campaign.public_id if campaign else None,
        "category": voucher.category,
        "category_id": None,
        "categories": [],
        "type": voucher.type,
        "discount": voucher.discount
        if voucher.discount is not None
        else (campaign.discount if campaign else None),
        "gift": None,
        "loyalty_card": None,
        "start_date": iso(voucher.start_date or (campaign.start_date if campaign else None)),
        "expiration_date": iso(voucher.expiration_date or (campaign.expiration_date if campaign else None)),
        "validity_timeframe": campaign.validity_timeframe if campaign else None,
        "validity_day_of_week": campaign.validity_day_of_week if campaign else None,
        "validity_hours": campaign.validity_hours if campaign else None,
        "active": voucher.active,
        "additional_info": voucher.additional_info,
        "metadata": voucher.metadata,
        "assets": {"qr": _asset(voucher, "qr"), "barcode": _asset(voucher, "barcode")},
        "is_referral_code": voucher.is_referral_code,
        "created_at": iso(voucher.created_at),
        "updated_at": iso(voucher.updated_at),
        "holder_id": holder_public_id,
        "referrer_id": None,
        "object": "voucher",
        "publish": {
            "object": "list",
            "count": 1 if holder_public_id else 0,
            "url": f"/v1/vouchers/{code}/publications?page=1&limit=10",
        },
        "redemption": {
            "quantity": voucher.redemption_quantity,
            "redeemed_quantity": voucher.redeemed_quantity,
            "redeemed_points": 0,
            "object": "list",
            "url": f"/v1/vouchers/{code}/redemptions?page=1&limit=10",
        },
        "validation_rules_assignments": {"object": "list", "data_ref": "data", "data": [], "total": 0},
    }
    if voucher.type == VoucherType.GIFT_VOUCHER:
        amount = voucher.gift_amount or 0
        balance = voucher.gift_balance if voucher.gift_balance is not None else amount
        body["gift"] = {
            "amount": amount,
            "subtracted_amount": 0,
            "balance": balance,
            "effect": voucher.gift_effect,
        }
    if voucher.type == VoucherType.LOYALTY_CARD:
        points = voucher.loyalty_points or 0
        body["loyalty_card"] = {
            "points": points,
            "balance": voucher.loyalty_balance if voucher.loyalty_balance is not None else points,
            "next_expiration_date": None,
            "next_expiration_points": None,
            "pending_points": 0,
            "expired_points": 0,
            "subtracted_points": 0,
        }
    return body


def publication_object(publications: list[Publication]) -> dict[str, Any]:
    """One publication response for the codes one request published (slot order); rows preloaded with
    their voucher, voucher campaign and customer."""
    first = publications[0]
    customer = first.customer
    return {
        "id": first.public_id,
        "object": "publication",
        "created_at": iso(first.created_at),
        "customer_id": customer.public_id,
        "tracking_id": customer.source_id,
        "metadata": first.metadata,
        "channel": "API",
        "source_id": first.source_id,
        "result": "SUCCESS",
        "customer": customer_object(customer),
        "voucher": voucher_object(first.voucher, holder_public_id=customer.public_id),
        "vouchers_id": [publication.voucher.public_id for publication in publications],
        "vouchers": [publication.voucher.code for publication in publications],
    }


def publication_list_item(publication: Publication) -> dict[str, Any]:
    voucher = publication.voucher
    customer = publication.customer
    item_voucher: dict[str, Any] = {
        "code": voucher.code,
        "object": "voucher",
        "campaign": voucher.campaign.name if voucher.campaign else None,
        "discount": voucher.discount
        if voucher.discount is not None
        else (voucher.campaign.discount if voucher.campaign else None),
        "is_referral_code": voucher.is_referral_code,
    }
    if voucher.type == VoucherType.GIFT_VOUCHER:
        item_voucher["gift"] = {
            "amount": voucher.gift_amount or 0,
            "balance": voucher.gift_balance or 0,
            "effect": voucher.gift_effect,
        }
    if voucher.type == VoucherType.LOYALTY_CARD:
        item_voucher["loyalty_card"] = {
            "points": voucher.loyalty_points or 0,
            "balance": voucher.loyalty_balance or 0,
        }
    return {
        "id": publication.public_id,
        "object": "publication",
        "created_at": iso(publication.created_at),
        "customer_id": customer.public_id,
        "tracking_id": customer.source_id,
        "metadata": publication.metadata,
        "channel": "API",
        "source_id": publication.source_id,
        "customer": customer_object(customer),
        "vouchers": [voucher.code],
        "vouchers_id": [voucher.public_id],
        "result": "SUCCESS",
        "voucher": item_voucher,
    }
