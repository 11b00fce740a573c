"""Promotion tiers: the discounts of a PROMOTION campaign, applied without a code.

A tier's validation rules are `ValidationRuleAssignment` rows (related_object_type
"promotion_tier"). Its redemption summary is kept as counters that the redemption service moves
with `promotion_tier_count_redemption` (one UPDATE, no read-modify-write).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tenancy.scoping import TenantModel


class PromotionTier(TenantModel):
    public_id = models.CharField(max_length=40, editable=False)
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="promotion_tier_rows", db_index=False
    )
    name = models.CharField(max_length=255)
    banner = models.TextField(null=True, blank=True)
    action = models.JSONField(null=True, blank=True)  # {"discount": {...}}
    metadata = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    hierarchy = models.PositiveIntegerField(default=1)
    start_date = models.DateTimeField(null=True, blank=True)
    expiration_date = models.DateTimeField(null=True, blank=True)
    validity_timeframe = models.JSONField(null=True, blank=True)
    validity_day_of_week = models.JSONField(null=True, blank=True)
    validity_hours = models.JSONField(null=True, blank=True)
    category = models.CharField(max_length=255, null=True, blank=True)
    redeemed_count = models.PositiveBigIntegerField(default=0)
    orders_total_amount = models.BigIntegerField(default=0)
    orders_total_discount_amount = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="promotiontier_unique_public_id"),
        ]
        indexes = [
            models.Index(fields=["project", "campaign", "hierarchy"], name="promotiontier_campaign"),
            models.Index(fields=["project", "created_at"], name="promotiontier_project_created"),
        ]

    def __str__(self) -> str:
        return self.name

    def is_available(self, now=None) -> bool:
        """Active and inside its dates (the campaign's own state is checked by the caller)."""
        now = now or timezone.now()
        return (
            self.active
            and (self.start_date is None or self.start_date <= now)
            and (self.expiration_date is None or now < self.expiration_date)
        )
