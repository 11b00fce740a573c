from django.urls import path

from messaging import provider_views
from tenancy import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("projects/switch/", views.project_switch, name="project_switch"),
    path("settings/", views.project_settings, name="settings"),
    path("settings/update/", views.project_settings_update, name="settings_update"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/new/", views.api_key_create, name="api_key_create"),
    path("api-keys/<str:app_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("members/", views.members, name="members"),
    path("members/add/", views.member_add, name="member_add"),
    path("members/<int:membership_id>/role/", views.member_set_role, name="member_set_role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("settings/providers/", provider_views.provider_settings, name="provider_settings"),
    path("settings/providers/<str:kind>/", provider_views.provider_save, name="provider_save"),
]
urlpatterns += [
    path("settings/message-limits/unlock/", views.message_limit_unlock_request, name="message_limit_unlock"),
]
