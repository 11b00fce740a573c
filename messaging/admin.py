"""Messages are a delivery record: operators may read them, not edit them (superusers only)."""

from django.contrib import admin

from eventbus.admin import ReadOnlyAdmin
from messaging.models import (
    ChannelProvider,
    ChannelSuppression,
    CustomerConsent,
    Message,
    MessageAttempt,
    MessageLimitUnlockRequest,
    MessageStream,
)


@admin.register(MessageStream)
class MessageStreamAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "owner", "project", "state", "paused_reason", "updated_at"]
    list_filter = ["state"]
    search_fields = ["=public_id", "=owner"]
    list_select_related = ["project"]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "channel",
        "state",
        "attempts",
        "recovered",
        "project",
        "queued_at",
        "sent_at",
    ]
    list_filter = ["state", "channel"]
    search_fields = ["=public_id", "=cause_key"]
    list_select_related = ["project"]
    raw_id_fields = ["customer", "stream", "template"]


@admin.register(MessageAttempt)
class MessageAttemptAdmin(ReadOnlyAdmin):
    list_display = ["message", "number", "outcome", "status_code", "duration_ms", "attempted_at", "error"]
    list_filter = ["outcome"]
    list_select_related = ["message"]
    raw_id_fields = ["message", "stream"]


# --- Provider accounts and suppressions (SMS and integrations) ---


@admin.register(ChannelProvider)
class ChannelProviderAdmin(ReadOnlyAdmin):
    # `settings` holds encrypted secrets: not shown even to operators.
    list_display = ["kind", "project", "base_url", "is_active", "checked_at", "updated_at"]
    list_filter = ["kind", "is_active"]
    list_select_related = ["project"]
    exclude = ["settings"]


@admin.register(ChannelSuppression)
class ChannelSuppressionAdmin(ReadOnlyAdmin):
    list_display = ["customer", "channel", "reason", "project", "created_at"]
    list_filter = ["channel", "reason"]
    list_select_related = ["project", "customer"]
    raw_id_fields = ["customer"]


@admin.register(CustomerConsent)
class CustomerConsentAdmin(ReadOnlyAdmin):
    list_display = ["customer", "channel", "state", "source", "changed_at", "project"]
    list_filter = ["channel", "state", "source"]
    list_select_related = ["project", "customer"]
    raw_id_fields = ["customer"]


@admin.register(MessageLimitUnlockRequest)
class MessageLimitUnlockRequestAdmin(ReadOnlyAdmin):
    """Read here; decided in the operator view (`/operator/`), which releases the held messages."""

    list_display = ["project", "company_name", "state", "created_at", "decided_at", "released", "expired"]
    list_filter = ["state"]
    list_select_related = ["project"]
    raw_id_fields = ["requested_by", "decided_by"]
