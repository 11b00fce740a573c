from django.urls import path

from distributions.api import reports, views

urlpatterns = [
    path("distributions", views.DistributionCollectionApi.as_view(), name="distribution-collection"),
    path("distributions/catalogue", views.DistributionCatalogueApi.as_view(), name="distribution-catalogue"),
    path("distributions/<str:public_id>", views.DistributionItemApi.as_view(), name="distribution-item"),
    path("distributions/<str:public_id>/send", views.DistributionSendApi.as_view(), name="distribution-send"),
    path(
        "distributions/<str:public_id>/pause", views.DistributionPauseApi.as_view(), name="distribution-pause"
    ),
    path(
        "distributions/<str:public_id>/resume",
        views.DistributionResumeApi.as_view(),
        name="distribution-resume",
    ),
    path(
        "distributions/<str:public_id>/cancel",
        views.DistributionCancelApi.as_view(),
        name="distribution-cancel",
    ),
    path(
        "distributions/<str:public_id>/activity",
        reports.DistributionActivityApi.as_view(),
        name="distribution-activity",
    ),
    path(
        "distributions/<str:public_id>/preflight",
        views.DistributionPreflightApi.as_view(),
        name="distribution-preflight",
    ),
    path(
        "distributions/<str:public_id>/analytics",
        reports.DistributionAnalyticsApi.as_view(),
        name="distribution-analytics",
    ),
    path(
        "distributions/<str:public_id>/messages",
        reports.DistributionMessagesApi.as_view(),
        name="distribution-messages",
    ),
]
