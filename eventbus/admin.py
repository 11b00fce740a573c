"""The outbox is a record of what happened: operators may read it, not edit it (superusers only)."""

from django.contrib import admin

from eventbus.models import DomainEvent, HandlerRun


class ReadOnlyAdmin(admin.ModelAdmin):
    # No COUNT(*) or DISTINCT over every tenant's events on each page: search by exact id or type instead.
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HandlerRunInline(admin.TabularInline):
    model = HandlerRun
    fields = ["handler", "status", "attempts", "last_error", "updated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DomainEvent)
class DomainEventAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "type",
        "project",
        "customer",
        "created_at",
        "dispatch_attempts",
        "completed_at",
    ]
    list_select_related = ["project", "customer"]
    search_fields = ["=public_id", "=type"]
    ordering = ["-created_at"]
    inlines = [HandlerRunInline]

    def get_queryset(self, request):
        return DomainEvent.objects.unscoped()


@admin.register(HandlerRun)
class HandlerRunAdmin(ReadOnlyAdmin):
    list_display = ["event", "handler", "status", "attempts", "updated_at", "project"]
    list_select_related = ["event", "project"]
    list_filter = ["status"]
    search_fields = ["=event__public_id", "handler"]
    ordering = ["-updated_at"]

    def get_queryset(self, request):
        return HandlerRun.objects.unscoped()
