"""Campaign models, one module per sub-domain; import them from here (`campaigns.models`)."""

from campaigns.models.catalogue import (
    Campaign,
    CampaignQuerySet,
    CampaignType,
    CodeGenerationJob,
    CreationStatus,
    Publication,
    Voucher,
    VoucherType,
)
from campaigns.models.redemptions import Redemption, Referral

__all__ = [
    "Campaign",
    "CampaignQuerySet",
    "CampaignType",
    "CodeGenerationJob",
    "CreationStatus",
    "Publication",
    "Redemption",
    "Referral",
    "Voucher",
    "VoucherType",
]
