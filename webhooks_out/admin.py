"""Endpoints in the admin for operators: readable, the secret never shown."""

from django.contrib import admin

from eventbus.admin import ReadOnlyAdmin
from webhooks_out.models import SandboxDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "name", "url", "project", "is_active", "is_failing", "failing_since"]
    list_filter = ["is_active", "is_failing"]
    search_fields = ["=public_id"]
    list_select_related = ["project"]
    exclude = ["secret"]


@admin.register(SandboxDelivery)
class SandboxDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "project", "received_at", "verified_endpoint"]
    list_select_related = ["project"]
