"""Campaigns with codes, built through the services so rows look like the API's."""

from __future__ import annotations

from typing import Any

from campaigns import codes
from campaigns.models import Campaign
from campaigns.services import campaign_create
from tenancy.models import Project


def make_campaign(
    project: Project,
    *,
    name: str = "Summer",
    codes_count: int = 0,
    campaign_type: str = "DISCOUNT_COUPONS",
    **fields: Any,
) -> Campaign:
    """A campaign; `codes_count` codes are generated synchronously (any size)."""
    voucher = fields.pop("voucher", None)
    if voucher is None:
        voucher = {
            "DISCOUNT_COUPONS": {
                "type": "DISCOUNT_VOUCHER",
                "discount": {"type": "PERCENT", "percent_off": 10},
            },
            "REFERRAL_PROGRAM": {
                "type": "DISCOUNT_VOUCHER",
                "discount": {"type": "AMOUNT", "amount_off": 500},
            },
            "GIFT_VOUCHERS": {"type": "GIFT_VOUCHER", "gift": {"amount": 1000, "effect": "APPLY_TO_ORDER"}},
            "LOYALTY_PROGRAM": {"type": "LOYALTY_CARD", "loyalty_card": {"points": 100}},
            "PROMOTION": None,
        }[campaign_type]
    request = {"name": name, "campaign_type": campaign_type, "type": fields.pop("type", "STATIC"), **fields}
    if voucher is not None:
        request["voucher"] = voucher
    if campaign_type == "PROMOTION":
        request.setdefault("promotion", {"tiers": [{"name": "Tier 1"}]})
    campaign = campaign_create(project=project, fields=request)
    if codes_count:
        codes.generate_codes(campaign=campaign, count=codes_count)
        campaign.refresh_from_db()
    return campaign
