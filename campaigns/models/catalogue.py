"""Campaigns, their codes (vouchers) and publications.

A code is published by inserting a `Publication` row, unique on (project, voucher): the voucher row
itself is never updated by a claim (DESIGN.md, "Codes are claimed insert-only"). The holder of a
code is whoever its publication names.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenancy.scoping import ProjectScopedManager, ProjectScopedQuerySet, TenantModel


class CampaignType(models.TextChoices):
    DISCOUNT_COUPONS = "DISCOUNT_COUPONS"
    GIFT_VOUCHERS = "GIFT_VOUCHERS"
    LOYALTY_PROGRAM = "LOYALTY_PROGRAM"
    REFERRAL_PROGRAM = "REFERRAL_PROGRAM"
    PROMOTION = "PROMOTION"


class VoucherType(models.TextChoices):
    DISCOUNT_VOUCHER = "DISCOUNT_VOUCHER"
    GIFT_VOUCHER = "GIFT_VOUCHER"
    LOYALTY_CARD = "LOYALTY_CARD"


class CreationStatus(models.TextChoices):
    DONE = "DONE"
    IN_PROGRESS = "IN_PROGRESS"
    FAILED = "FAILED"
    DRAFT = "DRAFT"
    MODIFYING = "MODIFYING"


class CampaignQuerySet(ProjectScopedQuerySet):
    def by_id_or_name(self, identifier: str) -> CampaignQuerySet:
        """Voucherify names a campaign by its id or by its name wherever one is expected."""
        if identifier.startswith("camp_"):
            return self.filter(Q(public_id=identifier) | Q(name=identifier))
        return self.filter(name=identifier)


class Campaign(TenantModel):
    class Type(models.TextChoices):
        AUTO_UPDATE = "AUTO_UPDATE"
        STATIC = "STATIC"
        STANDALONE = "STANDALONE"

    public_id = models.CharField(max_length=40, editable=False)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    campaign_type = models.CharField(max_length=20, choices=CampaignType.choices)
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.AUTO_UPDATE)
    category = models.CharField(max_length=255, null=True, blank=True)
    # The template of the campaign's codes.
    voucher_type = models.CharField(max_length=20, choices=VoucherType.choices, null=True, blank=True)
    discount = models.JSONField(null=True, blank=True)
    gift = models.JSONField(null=True, blank=True)  # {"amount": cents, "effect": ...}
    loyalty_card = models.JSONField(null=True, blank=True)  # {"points": int, "expiration_rules": {...}}
    code_config = models.JSONField(
        default=dict, blank=True
    )  # normalised: length/charset/prefix/postfix/pattern
    redemption_quantity = models.PositiveIntegerField(null=True, blank=True)  # None: unlimited
    is_referral_code = models.BooleanField(default=False)
    join_once = models.BooleanField(default=False)
    auto_join = models.BooleanField(default=False)
    use_voucher_metadata_schema = models.BooleanField(default=False)
    start_date = models.DateTimeField(null=True, blank=True)
    expiration_date = models.DateTimeField(null=True, blank=True)
    validity_timeframe = models.JSONField(null=True, blank=True)
    validity_day_of_week = models.JSONField(null=True, blank=True)
    validity_hours = models.JSONField(null=True, blank=True)
    activity_duration_after_publishing = models.CharField(max_length=40, null=True, blank=True)
    active = models.BooleanField(default=True)
    metadata = models.JSONField(default=dict, blank=True)
    referral_program = models.JSONField(null=True, blank=True)
    loyalty_tiers_expiration = models.JSONField(null=True, blank=True)
    vouchers_count = models.PositiveBigIntegerField(default=0)
    creation_status = models.CharField(
        max_length=20, choices=CreationStatus.choices, default=CreationStatus.DONE
    )
    # The last `Voucher.sequence` handed out to a new code of this campaign (ranges are reserved with
    # an atomic UPDATE ... RETURNING, so concurrent generators never share a number).
    sequence_reserved = models.BigIntegerField(default=0)
    # A hint for claims: every code at or below this sequence was published when it was written.
    # Claims start after it, and rescan from the start only before reporting exhaustion.
    claim_cursor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    objects = ProjectScopedManager.from_queryset(CampaignQuerySet)()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="campaign_unique_public_id"),
            models.UniqueConstraint(fields=["project", "name"], name="campaign_unique_name"),
        ]
        indexes = [
            models.Index(fields=["project", "campaign_type", "created_at"], name="campaign_project_type"),
            models.Index(fields=["project", "created_at"], name="campaign_project_created"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_codes(self) -> bool:
        return self.campaign_type != CampaignType.PROMOTION


class Voucher(TenantModel):
    """One code. Campaign codes leave `discount` empty and show their campaign's; gift and loyalty
    amounts are per code because their balances move."""

    public_id = models.CharField(max_length=40, editable=False)
    code = models.CharField(max_length=255)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # Claim order inside the campaign (standalone codes have none).
    sequence = models.BigIntegerField(null=True, blank=True)
    type = models.CharField(max_length=20, choices=VoucherType.choices, default=VoucherType.DISCOUNT_VOUCHER)
    category = models.CharField(max_length=255, null=True, blank=True)
    discount = models.JSONField(null=True, blank=True)
    gift_amount = models.BigIntegerField(null=True, blank=True)
    gift_balance = models.BigIntegerField(null=True, blank=True)
    gift_effect = models.CharField(max_length=40, null=True, blank=True)
    loyalty_points = models.BigIntegerField(null=True, blank=True)
    loyalty_balance = models.BigIntegerField(null=True, blank=True)
    redemption_quantity = models.PositiveIntegerField(null=True, blank=True)
    redeemed_quantity = models.PositiveIntegerField(default=0)
    is_referral_code = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    start_date = models.DateTimeField(null=True, blank=True)
    expiration_date = models.DateTimeField(null=True, blank=True)
    additional_info = models.TextField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "code"], name="voucher_unique_code"),
            models.UniqueConstraint(fields=["project", "public_id"], name="voucher_unique_public_id"),
            models.UniqueConstraint(
                fields=["project", "campaign", "sequence"],
                name="voucher_unique_campaign_sequence",
                condition=Q(campaign__isnull=False),
            ),
        ]
        indexes = [models.Index(fields=["project", "created_at"], name="voucher_project_created")]

    def __str__(self) -> str:
        return self.code


class Publication(TenantModel):
    """One published code: who holds it, and which request or distribution published it.

    Unique on the code, so a code has at most one holder, ever. `request_key` + `slot` make one
    API request (same `source_id`, or the same customer joining a `join_once` campaign) publish the
    same codes however often and however concurrently it arrives; `distribution_id` + `customer` +
    `cause_key` do the same for a distribution's bulk publications.
    """

    public_id = models.CharField(max_length=40, editable=False)
    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    source_id = models.CharField(max_length=255, null=True, blank=True)
    channel = models.CharField(max_length=100, default="API")  # the caller's; responses always say "API"
    metadata = models.JSONField(default=dict, blank=True)
    request_key = models.CharField(max_length=300, null=True, blank=True)
    slot = models.PositiveSmallIntegerField(default=0)
    distribution_id = models.BigIntegerField(null=True, blank=True)  # a FK once the distributions app lands
    cause_key = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "voucher"], name="publication_unique_voucher"),
            models.UniqueConstraint(fields=["project", "public_id"], name="publication_unique_public_id"),
            models.UniqueConstraint(
                fields=["project", "request_key", "slot"],
                name="publication_unique_request_slot",
                condition=Q(request_key__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["project", "distribution_id", "customer", "cause_key"],
                name="publication_unique_distribution_cause",
                condition=Q(distribution_id__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["project", "customer", "campaign"], name="publication_project_customer"),
            models.Index(fields=["project", "campaign", "created_at"], name="publication_project_campaign"),
            models.Index(fields=["project", "created_at"], name="publication_project_created"),
            # A distribution's codes in the partial quarter hours at the ends of a range (the rest is
            # tallied).
            models.Index(
                fields=["project", "distribution_id", "created_at"],
                name="publication_distribution_time",
                condition=Q(distribution_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class PublicationTally(TenantModel):
    """Codes published, and how many of them were redeemed at least once (a successful redemption),
    per campaign, distribution and quarter hour of publication: what the analytics and the campaign
    page read instead of counting a million publications.

    Written by PostgreSQL statement-level triggers on publications and redemptions (migration 0007)
    in the same transaction as the change, as +n/-n rows that `publication_tallies_compact` folds into
    one compact row per group; a read sums every row of its groups. A code's first successful
    redemption is seen exactly because redemptions of one code wait for each other on its voucher row
    (the conditional UPDATE of `redeemed_quantity`); see `campaigns/tallies.py` for the one race left.
    """

    project = models.ForeignKey(
        "tenancy.Project", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    campaign_id = models.BigIntegerField(null=True)
    distribution_id = models.BigIntegerField(null=True)
    created_in = models.DateTimeField()
    published = models.BigIntegerField()
    redeemed = models.BigIntegerField()
    is_compact = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "distribution_id", "campaign_id", "created_in"],
                name="publication_tally_compact",
                condition=Q(is_compact=True),
                nulls_distinct=False,
            ),
        ]
        indexes = [
            models.Index(fields=["project", "distribution_id", "created_in"], name="publication_tally_distr"),
            models.Index(fields=["project", "campaign_id"], name="publication_tally_campaign"),
            models.Index(
                fields=["project", "id"], name="publication_tally_fresh", condition=Q(is_compact=False)
            ),
        ]


class CodeGenerationJob(TenantModel):
    """An asynchronous "add N codes to a campaign" request: its `async_action_id` and outcome."""

    class Status(models.TextChoices):
        IN_PROGRESS = "IN_PROGRESS"
        DONE = "DONE"
        FAILED = "FAILED"

    public_id = models.CharField(max_length=40, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    requested = models.PositiveBigIntegerField()
    generated = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    # Applied to every generated code (`POST /campaigns/{id}/vouchers` body: metadata, dates...).
    voucher_fields = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    # Held by the worker generating the codes, so a second delivery of the task does not run alongside.
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="codejob_unique_public_id")
        ]
        indexes = [models.Index(fields=["project", "status"], name="codejob_project_status")]
