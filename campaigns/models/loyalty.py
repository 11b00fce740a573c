"""Loyalty programs: members' cards, their points in buckets, tiers, earning rules and rewards.

A member is a `LoyaltyCard`: one per (program, customer), naming the `Voucher` (type LOYALTY_CARD) that
was published to the customer. The voucher's `loyalty_points` (points ever added) and `loyalty_balance`
(points available) are what every voucher response shows; they move only together with the card's
buckets, under a row lock on the card, so they always equal the buckets' sums.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from campaigns.models.catalogue import Campaign, Voucher
from tenancy.scoping import TenantModel


class LoyaltyTier(TenantModel):
    """A points range of a program; `points_to` None means open-ended."""

    public_id = models.CharField(max_length=40, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_index=False)
    name = models.CharField(max_length=255)
    points_from = models.BigIntegerField()
    points_to = models.BigIntegerField(null=True, blank=True)
    earning_rules = models.JSONField(default=dict, blank=True)
    rewards = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="loyalty_tier_unique_public_id"),
        ]
        indexes = [
            models.Index(fields=["project", "campaign", "points_from"], name="loyalty_tier_campaign"),
        ]

    def __str__(self) -> str:
        return self.name

    def contains(self, points: int) -> bool:
        return points >= self.points_from and (self.points_to is None or points <= self.points_to)


class LoyaltyCard(TenantModel):
    """A customer's membership of a loyalty program, and the tier they hold in it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_index=False)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="+", db_index=False)
    tier = models.ForeignKey(
        LoyaltyTier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    tier_since = models.DateField(null=True, blank=True)
    # The last day the tier is guaranteed (END_OF_PERIOD rules); None: it lasts while the points do.
    tier_expires_at = models.DateField(null=True, blank=True)
    expired_points = models.BigIntegerField(default=0)
    subtracted_points = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "campaign", "customer"], name="loyalty_card_one_per_member"
            ),
            models.UniqueConstraint(fields=["project", "voucher"], name="loyalty_card_unique_voucher"),
        ]
        indexes = [
            models.Index(fields=["project", "customer"], name="loyalty_card_customer"),
            models.Index(fields=["project", "campaign", "created_at"], name="loyalty_card_campaign"),
            # The tier sweep reads only cards whose guaranteed period has an end.
            models.Index(
                fields=["project", "tier_expires_at"],
                name="loyalty_card_tier_due",
                condition=Q(tier_expires_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"card {self.voucher_id} of {self.customer_id}"


class LoyaltyPointsBucket(TenantModel):
    """Points added together that expire together; subtraction empties the soonest-expiring first."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        EXPIRED = "EXPIRED"

    public_id = models.CharField(max_length=40, editable=False)
    card = models.ForeignKey(LoyaltyCard, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_index=False)
    total_points = models.BigIntegerField()
    remaining_points = models.BigIntegerField()
    expires_at = models.DateField(null=True, blank=True)  # None: never expires
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="loyalty_bucket_unique_public_id"),
            models.CheckConstraint(
                condition=Q(remaining_points__gte=0) & Q(remaining_points__lte=models.F("total_points")),
                name="loyalty_bucket_remaining_in_range",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "card", "expires_at"], name="loyalty_bucket_card"),
            # The expiry sweep reads only buckets that still hold expiring points.
            models.Index(
                fields=["project", "expires_at"],
                name="loyalty_bucket_due",
                condition=Q(remaining_points__gt=0, expires_at__isnull=False),
            ),
        ]


class LoyaltyTransaction(TenantModel):
    """One movement of a card's points, with the balance after it (the ledger)."""

    class Kind(models.TextChoices):
        POINTS_ADDED = "POINTS_ADDED"  # manual balance change
        POINTS_REMOVED = "POINTS_REMOVED"
        POINTS_ACCRUED = "POINTS_ACCRUED"  # an earning rule
        POINTS_EXPIRED = "POINTS_EXPIRED"
        POINTS_REDEEMED = "POINTS_REDEEMED"  # a reward

    public_id = models.CharField(max_length=40, editable=False)
    card = models.ForeignKey(LoyaltyCard, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    points = models.BigIntegerField()  # signed
    balance_after = models.BigIntegerField()
    reason = models.CharField(max_length=1000, null=True, blank=True)
    source_id = models.CharField(max_length=255, null=True, blank=True)
    # What caused it, once: an event and earning rule, or a balance request's source_id.
    cause_key = models.CharField(max_length=200, null=True, blank=True)
    earning_rule = models.ForeignKey(
        "campaigns.EarningRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="loyalty_tx_unique_public_id"),
            models.UniqueConstraint(
                fields=["project", "card", "cause_key"],
                name="loyalty_tx_unique_cause",
                condition=Q(cause_key__isnull=False),
            ),
        ]
        indexes = [models.Index(fields=["project", "card", "created_at"], name="loyalty_tx_card")]


class EarningRule(TenantModel):
    """Points for an event: `customer.order.paid`, or a custom event named `event`."""

    ORDER_PAID = "customer.order.paid"

    public_id = models.CharField(max_length=40, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_index=False)
    event = models.CharField(max_length=300)
    # {"type": "FIXED", "points": n} | {"type": "PROPORTIONAL", "calculation_type": ..., ...}
    loyalty = models.JSONField(default=dict)
    custom_event = models.JSONField(null=True, blank=True)
    source = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    start_date = models.DateTimeField(null=True, blank=True)
    expiration_date = models.DateTimeField(null=True, blank=True)
    validity_timeframe = models.JSONField(null=True, blank=True)
    validity_day_of_week = models.JSONField(null=True, blank=True)
    validity_hours = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="earning_rule_unique_public_id"),
        ]
        indexes = [
            models.Index(fields=["project", "event", "campaign"], name="earning_rule_event"),
            models.Index(fields=["project", "campaign", "created_at"], name="earning_rule_campaign"),
        ]


class RewardType(models.TextChoices):
    CAMPAIGN = "CAMPAIGN"
    COIN = "COIN"
    MATERIAL = "MATERIAL"


class Reward(TenantModel):
    """Something bought with points: codes of a campaign, coins (points as money), or a product."""

    public_id = models.CharField(max_length=40, editable=False)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=10, choices=RewardType.choices)
    # The campaign whose codes a CAMPAIGN reward hands out.
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    parameters = models.JSONField(default=dict, blank=True)
    stock = models.PositiveIntegerField(null=True, blank=True)  # None: unlimited
    redeemed = models.PositiveIntegerField(default=0)
    attributes = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="reward_unique_public_id"),
        ]
        indexes = [models.Index(fields=["project", "created_at"], name="reward_project_created")]

    def __str__(self) -> str:
        return self.name


class RewardAssignment(TenantModel):
    """A reward offered by a loyalty program, at a price in points."""

    public_id = models.CharField(max_length=40, editable=False)
    reward = models.ForeignKey(Reward, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_index=False)
    points = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "public_id"], name="reward_assignment_unique_public_id"
            ),
            models.UniqueConstraint(fields=["project", "reward", "campaign"], name="reward_assignment_once"),
        ]
        indexes = [
            models.Index(fields=["project", "campaign", "created_at"], name="reward_assignment_campaign")
        ]


class RewardRedemption(TenantModel):
    """A member bought a reward: the points it took and, for a CAMPAIGN reward, the code it published."""

    public_id = models.CharField(max_length=40, editable=False)
    card = models.ForeignKey(LoyaltyCard, on_delete=models.CASCADE, related_name="+", db_index=False)
    reward = models.ForeignKey(Reward, on_delete=models.CASCADE, related_name="+", db_index=False)
    assignment = models.ForeignKey(
        RewardAssignment, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    points = models.BigIntegerField()
    voucher = models.ForeignKey(
        Voucher, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "public_id"], name="reward_redemption_unique_public_id"
            ),
        ]
        indexes = [models.Index(fields=["project", "card", "created_at"], name="reward_redemption_card")]
