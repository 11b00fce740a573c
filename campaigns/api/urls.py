from django.urls import path

from campaigns.api import async_actions, views
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
    path("vouchers", views.VoucherCollectionApi.as_view(), name="voucher-collection"),
    path("vouchers/assets/<str:token>", views.voucher_asset, name="voucher-asset"),
    path("vouchers/<str:code>", views.VoucherItemApi.as_view(), name="voucher-item"),
    path("publications", views.PublicationCollectionApi.as_view(), name="publication-collection"),
    path("publications/create", views.PublicationCreateByGetApi.as_view(), name="publication-create-get"),
    path(
        "async-actions/<str:identifier>", async_actions.AsyncActionItemApi.as_view(), name="async-action-item"
    ),
]
urlpatterns += loyalty_urlpatterns
