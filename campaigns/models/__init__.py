"""Campaign models, one module per sub-domain; import them from here (`campaigns.models`)."""

from campaigns.models.catalogue import (
    Campaign,
    CampaignQuerySet,
    CampaignType,
    CodeGenerationJob,
    CreationStatus,
    Publication,
    PublicationTally,
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
from campaigns.models.promotions import PromotionTier
from campaigns.models.redemptions import Redemption, Referral
from campaigns.models.rules import ValidationRule, ValidationRuleAssignment

__all__ = [
    "Campaign",
    "CampaignQuerySet",
    "CampaignType",
    "CodeGenerationJob",
    "CreationStatus",
    "PromotionTier",
    "Publication",
    "PublicationTally",
    "ValidationRule",
    "ValidationRuleAssignment",
    "Redemption",
    "Referral",
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
