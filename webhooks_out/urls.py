from django.urls import path

from webhooks_out import views

urlpatterns = [
    path("", views.sandbox_inbox, name="sandbox_inbox"),
    path(
        "webhooks/<str:project_public_id>/<str:token>",
        views.sandbox_webhook_receive,
        name="sandbox_webhook_receive",
    ),
]
