"""Redemptions (successful, failed and rolled back) and the referrals they convert.

References to campaigns, codes, customers and orders are kept without database constraints and
without cascades (`db_constraint=False`, `DO_NOTHING`): a redemption is history, so it outlives a
deleted code or campaign (Voucherify lists them after the fact too), and the set-based deletes of
campaigns and codes never have to visit this table. The codes and names a history row needs to be
read are copied onto it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenancy.scoping import TenantModel


def _history_link(to: str, **kwargs) -> models.ForeignKey:
    return models.ForeignKey(
        to,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        **kwargs,
    )


class Redemption(TenantModel):
    """One redemption: of a redeemable (a code; promotion tiers later), a stacked parent of several,
    or the rollback of one (`object` = redemption_rollback, pointing at it with `rollback_of`)."""

    class Object(models.TextChoices):
        REDEMPTION = "redemption"
        ROLLBACK = "redemption_rollback"

    class Result(models.TextChoices):
        SUCCESS = "SUCCESS"
        FAILURE = "FAILURE"

    class Status(models.TextChoices):
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"
        ROLLED_BACK = "ROLLED_BACK"

    public_id = models.CharField(max_length=40, editable=False)
    object = models.CharField(max_length=30, choices=Object.choices, default=Object.REDEMPTION)
    result = models.CharField(max_length=10, choices=Result.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    # "voucher", "promotion_tier", or "redemption" for a stacked parent.
    related_object_type = models.CharField(max_length=30)
    related_object_id = models.CharField(max_length=255, null=True, blank=True)
    parent = _history_link("self")
    rollback_of = _history_link("self")
    voucher = _history_link("campaigns.Voucher")
    voucher_code = models.CharField(max_length=255, null=True, blank=True)
    campaign = _history_link("campaigns.Campaign")
    customer = _history_link("customers.Customer")
    order = _history_link("customers.Order")
    # Gift credits taken (a rollback: given back), in cents.
    amount = models.BigIntegerField(null=True, blank=True)
    # The discount the code gave the order, in cents (discount codes).
    discount_amount = models.BigIntegerField(null=True, blank=True)
    failure_code = models.CharField(max_length=100, null=True, blank=True)
    failure_message = models.TextField(null=True, blank=True)
    tracking_id = models.CharField(max_length=255, null=True, blank=True)
    reason = models.TextField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    session_key = models.CharField(max_length=255, null=True, blank=True)
    channel_type = models.CharField(max_length=20, default="API")
    channel_id = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="redemption_unique_public_id"),
            # A redemption is rolled back once: the second rollback finds this row taken.
            models.UniqueConstraint(
                fields=["project", "rollback_of"],
                name="redemption_unique_rollback",
                condition=Q(rollback_of__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["project", "created_at"], name="redemption_project_created"),
            # `redemption.count.per_customer` and the customer filter of the list.
            models.Index(
                fields=["project", "customer", "campaign", "created_at"], name="redemption_customer"
            ),
            models.Index(fields=["project", "voucher", "created_at"], name="redemption_voucher"),
            models.Index(fields=["project", "campaign", "created_at"], name="redemption_campaign"),
            # The campaign page's codes redeemed (distinct codes with a redemption that stands),
            # counted from this index alone: a quarter of the time of scanning the redemptions.
            models.Index(
                fields=["project", "campaign", "voucher"],
                name="redemption_campaign_redeemed",
                condition=Q(object="redemption", status="SUCCEEDED", voucher__isnull=False),
            ),
            models.Index(
                fields=["project", "parent"], name="redemption_parent", condition=Q(parent__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_rollback(self) -> bool:
        return self.object == self.Object.ROLLBACK


class Referral(TenantModel):
    """A referee converted by a referrer's code: recorded once per (campaign, referee)."""

    campaign = _history_link("campaigns.Campaign")
    voucher = _history_link("campaigns.Voucher")
    code = models.CharField(max_length=255)
    referrer = _history_link("customers.Customer")
    referee = _history_link("customers.Customer")
    # What converted the referee: a redemption (`r_…`) or a custom event (`evcus_…`).
    related_object_type = models.CharField(max_length=30)
    related_object_id = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "campaign", "referee"], name="referral_unique_campaign_referee"
            )
        ]
        indexes = [
            models.Index(fields=["project", "referee", "created_at"], name="referral_referee"),
            models.Index(fields=["project", "referrer", "created_at"], name="referral_referrer"),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.referrer_id} → {self.referee_id}"
