"""The message editor at `/distributions/<id>/channels/<kind>/editor/` (the wizard's Channels step)."""

from django.urls import path

from messaging.editor import views

app_name = "messaging_editor"
urlpatterns = [
    path("<str:public_id>/channels/<str:kind>/editor/", views.channel_editor, name="channel"),
    path("<str:public_id>/channels/<str:kind>/editor/customers/", views.customer_picker, name="customers"),
]
