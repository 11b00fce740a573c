from django.urls import path

from webhooks_out import stand_ins, views

urlpatterns = [
    path("", views.sandbox_inbox, name="sandbox_inbox"),
    path(
        "webhooks/<str:project_public_id>/<str:token>",
        views.sandbox_webhook_receive,
        name="sandbox_webhook_receive",
    ),
    path(
        "providers/<str:project_public_id>/<str:token>/<str:kind>/",
        stand_ins.sandbox_provider,
        name="sandbox_provider_root",
    ),
    path(
        "providers/<str:project_public_id>/<str:token>/<str:kind>/<path:rest>",
        stand_ins.sandbox_provider,
        name="sandbox_provider",
    ),
]
