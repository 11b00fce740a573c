from django.contrib import admin

from customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Operator view across every project (superusers only)."""

    list_display = ["public_id", "name", "email", "source_id", "project", "created_at"]
    list_select_related = ["project"]
    search_fields = ["=public_id", "=source_id", "email", "name"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    raw_id_fields = ["project"]
    ordering = ["-created_at"]
    show_full_result_count = False  # a COUNT(*) over every tenant's customers on each page is too slow

    def get_queryset(self, request):
        return Customer.objects.unscoped()
