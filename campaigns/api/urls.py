from django.urls import path

from campaigns.api import async_actions, promotions, redemptions, rules, views, vouchers_write
from campaigns.api import distributions as campaign_distributions
from campaigns.api.loyalty_urls import urlpatterns as loyalty_urlpatterns

urlpatterns = [
    path("campaigns", views.CampaignCollectionApi.as_view(), name="campaign-collection"),
    path("campaigns/<str:identifier>", views.CampaignItemApi.as_view(), name="campaign-item"),
    path("campaigns/<str:identifier>/enable", views.CampaignEnableApi.as_view(), name="campaign-enable"),
    path("campaigns/<str:identifier>/disable", views.CampaignDisableApi.as_view(), name="campaign-disable"),
    path(
        "campaigns/<str:identifier>/vouchers",
        views.CampaignVouchersCreateApi.as_view(),
        name="campaign-vouchers",
    ),
    path(
        "campaigns/<str:identifier>/vouchers/<str:code>",
        views.CampaignVoucherWithCodeApi.as_view(),
        name="campaign-voucher-with-code",
    ),
    path("campaigns/<str:identifier>/import", views.CampaignImportApi.as_view(), name="campaign-import"),
    path(
        "campaigns/<str:identifier>/distributions",
        campaign_distributions.CampaignDistributionsApi.as_view(),
        name="campaign-distributions",
    ),
    path("vouchers", views.VoucherCollectionApi.as_view(), name="voucher-collection"),
    path("vouchers/assets/<str:token>", views.voucher_asset, name="voucher-asset"),
    path("vouchers/<str:code>", views.VoucherItemApi.as_view(), name="voucher-item"),
    path("vouchers/<str:code>/enable", vouchers_write.VoucherEnableApi.as_view(), name="voucher-enable"),
    path("vouchers/<str:code>/disable", vouchers_write.VoucherDisableApi.as_view(), name="voucher-disable"),
    path("vouchers/<str:code>/balance", vouchers_write.VoucherBalanceApi.as_view(), name="voucher-balance"),
    path(
        "vouchers/<str:code>/redemption",
        redemptions.VoucherRedemptionsApi.as_view(),
        name="voucher-redemptions",
    ),
    path("publications", views.PublicationCollectionApi.as_view(), name="publication-collection"),
    path("publications/create", views.PublicationCreateByGetApi.as_view(), name="publication-create-get"),
    path("redemptions", redemptions.RedemptionCollectionApi.as_view(), name="redemption-collection"),
    path("redemptions/<str:identifier>", redemptions.RedemptionItemApi.as_view(), name="redemption-item"),
    path(
        "redemptions/<str:identifier>/rollback",
        redemptions.RedemptionRollbackApi.as_view(),
        name="redemption-rollback",
    ),
    path(
        "async-actions/<str:identifier>", async_actions.AsyncActionItemApi.as_view(), name="async-action-item"
    ),
]

urlpatterns += [
    path("validation-rules", rules.ValidationRuleCollectionApi.as_view(), name="validation-rule-collection"),
    path(
        "validation-rules/<str:identifier>",
        rules.ValidationRuleItemApi.as_view(),
        name="validation-rule-item",
    ),
    path(
        "validation-rules/<str:identifier>/assignments",
        rules.ValidationRuleAssignmentCollectionApi.as_view(),
        name="validation-rule-assignments",
    ),
    path(
        "validation-rules/<str:identifier>/assignments/<str:assignment_id>",
        rules.ValidationRuleAssignmentItemApi.as_view(),
        name="validation-rule-assignment-item",
    ),
    path("promotions/tiers", promotions.TierCollectionApi.as_view(), name="promotion-tier-collection"),
    path("promotions/tiers/<str:tier_id>", promotions.TierItemApi.as_view(), name="promotion-tier-item"),
    path(
        "promotions/tiers/<str:tier_id>/enable",
        promotions.TierEnableApi.as_view(),
        name="promotion-tier-enable",
    ),
    path(
        "promotions/tiers/<str:tier_id>/disable",
        promotions.TierDisableApi.as_view(),
        name="promotion-tier-disable",
    ),
    path(
        "promotions/<str:campaign_id>/tiers",
        promotions.CampaignTierCollectionApi.as_view(),
        name="promotion-campaign-tiers",
    ),
]

urlpatterns += loyalty_urlpatterns
