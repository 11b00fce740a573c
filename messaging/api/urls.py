from django.urls import path

from messaging.api import views
from messaging.api.consents import CustomerConsentsApi

urlpatterns = [
    path(
        "message-templates/preview",
        views.MessageTemplatePreviewApi.as_view(),
        name="message-template-preview",
    ),
    path("customers/<str:identifier>/consents", CustomerConsentsApi.as_view(), name="customer-consents"),
]
