from django.urls import path

from messaging.api import views

urlpatterns = [
    path(
        "message-templates/preview",
        views.MessageTemplatePreviewApi.as_view(),
        name="message-template-preview",
    ),
]
