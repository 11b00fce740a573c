from django.contrib import admin

from tenancy.models import ApiKey, Membership, Project


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "public_id", "plan", "timezone", "created_at"]
    list_filter = ["plan"]
    search_fields = ["name", "slug", "=public_id", "company_name"]
    readonly_fields = ["public_id", "created_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_select_related = ["user", "project"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "project__name", "project__slug"]
    raw_id_fields = ["user", "project"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made where their token can be shown once (dashboard, `create_api_key`); here they can be
    read, renamed and revoked. The token hash never changes."""

    list_display = ["name", "app_id", "project", "token_hint", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["project"]
    search_fields = ["=app_id", "name", "project__name", "project__slug"]
    fields = [
        "project",
        "name",
        "app_id",
        "token_hash",
        "token_hint",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = ["project", "app_id", "token_hash", "token_hint", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False
