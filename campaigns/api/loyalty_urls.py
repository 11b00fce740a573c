"""The `/v1/loyalties` and `/v1/rewards` routes, appended to campaigns.api.urls."""

from django.urls import path

from campaigns.api.loyalty import (
    LoyaltyBalanceApi,
    LoyaltyMemberCollectionApi,
    LoyaltyMemberGetApi,
    LoyaltyMemberItemApi,
    LoyaltyMemberTiersApi,
    LoyaltyPointsExpirationApi,
    LoyaltyRedemptionApi,
    LoyaltyTierCollectionApi,
    LoyaltyTierItemApi,
    LoyaltyTransactionsApi,
)
from campaigns.api.loyalty_catalogue import (
    EarningRuleCollectionApi,
    EarningRuleDisableApi,
    EarningRuleEnableApi,
    EarningRuleItemApi,
    LoyaltyRewardAssignApi,
    RewardAssignmentCollectionApi,
    RewardAssignmentItemApi,
    RewardCollectionApi,
    RewardItemApi,
)

# The campaign-less `loyalties/members/...` routes come first: a card
# code there must never be read as a campaign id.
urlpatterns = [
    path("loyalties/members/<str:member_id>", LoyaltyMemberGetApi.as_view(), name="loyalty-member-get"),
    path(
        "loyalties/members/<str:member_id>/balance",
        LoyaltyBalanceApi.as_view(),
        name="loyalty-member-balance",
    ),
    path(
        "loyalties/members/<str:member_id>/tiers",
        LoyaltyMemberTiersApi.as_view(),
        name="loyalty-member-tiers",
    ),
    path(
        "loyalties/members/<str:member_id>/redemption",
        LoyaltyRedemptionApi.as_view(),
        name="loyalty-member-redemption",
    ),
    path(
        "loyalties/members/<str:member_id>/transactions",
        LoyaltyTransactionsApi.as_view(),
        name="loyalty-member-transactions",
    ),
    path("loyalties/<str:campaign_id>/members", LoyaltyMemberCollectionApi.as_view(), name="loyalty-members"),
    path(
        "loyalties/<str:campaign_id>/members/<str:member_id>",
        LoyaltyMemberItemApi.as_view(),
        name="loyalty-member-item",
    ),
    path(
        "loyalties/<str:campaign_id>/members/<str:member_id>/balance",
        LoyaltyBalanceApi.as_view(),
        name="loyalty-balance",
    ),
    path(
        "loyalties/<str:campaign_id>/members/<str:member_id>/points-expiration",
        LoyaltyPointsExpirationApi.as_view(),
        name="loyalty-points-expiration",
    ),
    path(
        "loyalties/<str:campaign_id>/members/<str:member_id>/redemption",
        LoyaltyRedemptionApi.as_view(),
        name="loyalty-redemption",
    ),
    path(
        "loyalties/<str:campaign_id>/members/<str:member_id>/transactions",
        LoyaltyTransactionsApi.as_view(),
        name="loyalty-transactions",
    ),
    path("loyalties/<str:campaign_id>/tiers", LoyaltyTierCollectionApi.as_view(), name="loyalty-tiers"),
    path(
        "loyalties/<str:campaign_id>/tiers/<str:tier_id>",
        LoyaltyTierItemApi.as_view(),
        name="loyalty-tier-item",
    ),
    path(
        "loyalties/<str:campaign_id>/earning-rules",
        EarningRuleCollectionApi.as_view(),
        name="loyalty-earning-rules",
    ),
    path(
        "loyalties/<str:campaign_id>/earning-rules/<str:rule_id>",
        EarningRuleItemApi.as_view(),
        name="loyalty-earning-rule-item",
    ),
    path(
        "loyalties/<str:campaign_id>/earning-rules/<str:rule_id>/enable",
        EarningRuleEnableApi.as_view(),
        name="loyalty-earning-rule-enable",
    ),
    path(
        "loyalties/<str:campaign_id>/earning-rules/<str:rule_id>/disable",
        EarningRuleDisableApi.as_view(),
        name="loyalty-earning-rule-disable",
    ),
    path("loyalties/<str:campaign_id>/rewards", LoyaltyRewardAssignApi.as_view(), name="loyalty-rewards"),
    path(
        "loyalties/<str:campaign_id>/reward-assignments",
        LoyaltyRewardAssignApi.as_view(),
        name="loyalty-reward-assignments",
    ),
    path("rewards", RewardCollectionApi.as_view(), name="reward-collection"),
    path("rewards/<str:reward_id>", RewardItemApi.as_view(), name="reward-item"),
    path(
        "rewards/<str:reward_id>/assignments",
        RewardAssignmentCollectionApi.as_view(),
        name="reward-assignments",
    ),
    path(
        "rewards/<str:reward_id>/assignments/<str:assignment_id>",
        RewardAssignmentItemApi.as_view(),
        name="reward-assignment-item",
    ),
]
