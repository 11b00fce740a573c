"""Validation rules and where they are assigned.

A rule set (`ValidationRule`) holds Voucherify's numbered rules JSON and its `logic`, checked by
`campaigns.validation_rules.check_rules` before it is saved and evaluated by
`campaigns.validation_rules.validation_rule_evaluate`. An assignment ties a rule set to the object
it guards (a promotion tier or a campaign now; vouchers and distributions name theirs the same way).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tenancy.scoping import TenantModel


class ValidationRule(TenantModel):
    public_id = models.CharField(max_length=40, editable=False)
    name = models.CharField(max_length=255)
    # As stored by `check_rules`: {"1": {...}, "2": {...}, "logic": "1 and 2"}.
    rules = models.JSONField(default=dict, blank=True)
    logic = models.CharField(max_length=2000, blank=True, default="")
    bundle_rules = models.JSONField(default=dict, blank=True)
    error_message = models.TextField(blank=True, default="")
    applicable_to = models.JSONField(null=True, blank=True)
    type = models.CharField(max_length=20, default="expression")
    context_type = models.CharField(max_length=100, default="global")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="validationrule_unique_public_id"),
            models.UniqueConstraint(fields=["project", "name"], name="validationrule_unique_name"),
        ]
        indexes = [models.Index(fields=["project", "created_at"], name="validationrule_project_created")]

    def __str__(self) -> str:
        return self.name


class ValidationRuleAssignment(TenantModel):
    """A rule set guarding one object, named by its type and public id as Voucherify shows it.

    `promotion_tier` / `campaign` is set for tier / campaign assignments, so deleting the object
    deletes its assignments (and a redemption asks the campaign's through an index).
    """

    class RelatedObjectType(models.TextChoices):
        VOUCHER = "voucher"
        CAMPAIGN = "campaign"
        EARNING_RULE = "earning_rule"
        REWARD_ASSIGNMENT = "reward_assignment"
        PROMOTION_TIER = "promotion_tier"
        DISTRIBUTION = "distribution"

    public_id = models.CharField(max_length=40, editable=False)
    rule = models.ForeignKey(
        ValidationRule, on_delete=models.CASCADE, related_name="assignments", db_index=False
    )
    related_object_type = models.CharField(max_length=30, choices=RelatedObjectType.choices)
    related_object_id = models.CharField(max_length=255)
    promotion_tier = models.ForeignKey(
        "campaigns.PromotionTier",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="assignments",
        db_index=False,
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="rule_assignments",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="rule_assignment_unique_public_id"),
            models.UniqueConstraint(
                fields=["project", "rule", "related_object_type", "related_object_id"],
                name="rule_assignment_unique_object",
            ),
        ]
        indexes = [
            models.Index(
                fields=["project", "related_object_type", "related_object_id"], name="rule_assignment_object"
            ),
            models.Index(fields=["project", "promotion_tier"], name="rule_assignment_tier"),
            models.Index(fields=["project", "campaign"], name="rule_assignment_campaign"),
        ]

    def __str__(self) -> str:
        return self.public_id
