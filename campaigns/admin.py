from django.contrib import admin

from campaigns.models import Campaign


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "campaign_type", "type", "project", "vouchers_count", "creation_status", "active")
    list_filter = ("campaign_type", "active")
    search_fields = ("name", "public_id")

    def get_queryset(self, request):
        return Campaign.objects.unscoped().select_related("project")
