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
from campaigns.models.loyalty import (
    EarningRule,
    LoyaltyCard,
    LoyaltyPointsBucket,
    LoyaltyTier,
    LoyaltyTransaction,
    Reward,
    RewardAssignment,
    RewardRedemption,
    RewardType,
)

__all__ = [
    "Campaign",
    "CampaignQuerySet",
    "CampaignType",
    "CodeGenerationJob",
    "CreationStatus",
    "Publication",
    "Voucher",
    "VoucherType",
    "EarningRule",
    "LoyaltyCard",
    "LoyaltyPointsBucket",
    "LoyaltyTier",
    "LoyaltyTransaction",
    "Reward",
    "RewardAssignment",
    "RewardRedemption",
    "RewardType",
]
