"""Every write to promotion tiers, and the reads campaign responses need.

A PROMOTION campaign's tiers are rows (`PromotionTier`), created with the campaign from
`promotion.tiers` or one by one under `/v1/promotions/{campaignId}/tiers`. Each tier's validation
rules are assignments of rule sets of the same project.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import F, Max, Prefetch
from django.utils import timezone

from campaigns.models import Campaign, CampaignType, PromotionTier, ValidationRule, ValidationRuleAssignment
from campaigns.services import CampaignRefused
from tenancy.ids import new_public_id
from tenancy.models import Project

_SIMPLE = (
    "name",
    "banner",
    "action",
    "metadata",
    "active",
    "hierarchy",
    "start_date",
    "expiration_date",
    "validity_timeframe",
    "validity_day_of_week",
    "validity_hours",
    "category",
)


class ValidationRuleMissing(CampaignRefused):
    """A tier names a validation rule that its project does not have: a 404, as for any object."""

    def __init__(self, identifier: str) -> None:
        super().__init__("not_found", f"Cannot find validation_rule with id {identifier}", status_code=404)
        self.identifier = identifier


def _columns(fields: Mapping[str, Any]) -> dict[str, Any]:
    values = {name: fields[name] for name in _SIMPLE if name in fields}
    if "metadata" in values and values["metadata"] is None:
        values["metadata"] = {}
    if "active" in values and values["active"] is None:
        values["active"] = True
    return values


def _rules_named(project: Project, identifiers: Sequence[str]) -> list[ValidationRule]:
    """The project's rules by public id, in the order given; raises for the first one missing."""
    found = {
        rule.public_id: rule
        for rule in ValidationRule.objects.for_project(project).filter(public_id__in=set(identifiers))
    }
    for identifier in identifiers:
        if identifier not in found:
            raise ValidationRuleMissing(identifier)
    return [found[identifier] for identifier in dict.fromkeys(identifiers)]


def _assign(project: Project, tier: PromotionTier, rules: Iterable[ValidationRule]) -> None:
    ValidationRuleAssignment.objects.bulk_create(
        [
            ValidationRuleAssignment(
                project=project,
                public_id=new_public_id("asgm", 16),
                rule=rule,
                related_object_type=ValidationRuleAssignment.RelatedObjectType.PROMOTION_TIER,
                related_object_id=tier.public_id,
                promotion_tier=tier,
            )
            for rule in rules
        ]
    )


def _check_promotion(campaign: Campaign) -> None:
    if campaign.campaign_type != CampaignType.PROMOTION:
        raise CampaignRefused(
            "invalid_campaign_params",
            f"Campaign {campaign.name} is a {campaign.campaign_type} campaign: only a PROMOTION has tiers.",
        )


def promotion_tiers_create_for_campaign(
    *, project: Project, campaign: Campaign, tiers: Sequence[Mapping[str, Any]]
) -> list[PromotionTier]:
    """The tiers of `promotion.tiers`, in order; hierarchy defaults to the position after the last."""
    _check_promotion(campaign)
    with transaction.atomic():
        # Locking the campaign orders concurrent tier creations, so default hierarchies do not collide.
        Campaign.objects.for_project(project).select_for_update(no_key=True).filter(pk=campaign.pk).first()
        highest = (
            PromotionTier.objects.for_project(project)
            .filter(campaign=campaign)
            .aggregate(highest=Max("hierarchy"))["highest"]
            or 0
        )
        rules = [_rules_named(project, fields.get("validation_rules") or []) for fields in tiers]
        created = []
        now = timezone.now()
        for fields, tier_rules in zip(tiers, rules, strict=True):
            values = _columns(fields)
            if values.get("hierarchy") is None:
                values["hierarchy"] = highest + 1
            highest = max(highest, values["hierarchy"])
            tier = PromotionTier.objects.create(
                project=project,
                public_id=new_public_id("promo", 20),
                campaign=campaign,
                created_at=now,
                **values,
            )
            _assign(project, tier, tier_rules)
            created.append(tier)
    return created


def promotion_tier_create(
    *, project: Project, campaign: Campaign, fields: Mapping[str, Any]
) -> PromotionTier:
    (tier,) = promotion_tiers_create_for_campaign(project=project, campaign=campaign, tiers=[fields])
    return tier


@transaction.atomic
def promotion_tier_update(
    *, project: Project, tier: PromotionTier, fields: Mapping[str, Any]
) -> PromotionTier:
    """Change the fields given; `validation_rules` given replaces the tier's rule assignments."""
    locked = PromotionTier.objects.for_project(project).select_for_update().get(pk=tier.pk)
    values = _columns(fields)
    if "hierarchy" in values and values["hierarchy"] is None:  # a tier always has a place
        del values["hierarchy"]
    if "validation_rules" in fields:
        rules = _rules_named(project, fields["validation_rules"] or [])
        ValidationRuleAssignment.objects.for_project(project).filter(promotion_tier=locked).delete()
        _assign(project, locked, rules)
    for name, value in values.items():
        setattr(locked, name, value)
    locked.updated_at = timezone.now()
    locked.save(update_fields=[*values, "updated_at"])
    return locked


@transaction.atomic
def promotion_tier_set_active(*, project: Project, tier: PromotionTier, active: bool) -> PromotionTier:
    PromotionTier.objects.for_project(project).filter(pk=tier.pk).update(
        active=active, updated_at=timezone.now()
    )
    tier.refresh_from_db()
    return tier


@transaction.atomic
def promotion_tier_delete(*, project: Project, tier: PromotionTier) -> None:
    """Delete the tier and its rule assignments (the rule sets themselves stay)."""
    PromotionTier.objects.for_project(project).filter(pk=tier.pk).delete()


def promotion_tier_count_redemption(
    *, project: Project, tier: PromotionTier, order_amount: int, discount_amount: int, redemptions: int = 1
) -> None:
    """Move the tier's redemption summary: +1 for a redemption, `redemptions=-1` (and negative
    amounts) for its rollback. Call it inside the redemption's transaction."""
    PromotionTier.objects.for_project(project).filter(pk=tier.pk).update(
        redeemed_count=F("redeemed_count") + redemptions,
        orders_total_amount=F("orders_total_amount") + order_amount,
        orders_total_discount_amount=F("orders_total_discount_amount") + discount_amount,
    )


# --- Reads ---------------------------------------------------------------------------------------------


def promotion_tiers_query(project: Project):
    """Tiers with what their representation needs: campaign and rule assignments (2 queries)."""
    return (
        PromotionTier.objects.for_project(project)
        .select_related("campaign")
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=ValidationRuleAssignment.objects.for_project(project)
                .select_related("rule")
                .order_by("created_at", "pk"),
            )
        )
    )


def tiers_of_campaign(*, project: Project, campaign: Campaign) -> list[PromotionTier]:
    """A campaign's tiers in hierarchy order (preloaded by `attach_promotion_tiers` when listed)."""
    preloaded = getattr(campaign, "_promotion_tiers", None)
    if preloaded is not None:
        return preloaded
    tiers = list(promotion_tiers_query(project).filter(campaign=campaign).order_by("hierarchy", "pk"))
    campaign._promotion_tiers = tiers
    return tiers


def attach_promotion_tiers(*, project: Project, campaigns: Sequence[Campaign]) -> None:
    """Preload the tiers of the PROMOTION campaigns among `campaigns` in one go (none: no query)."""
    promotions = {c.pk: c for c in campaigns if c.campaign_type == CampaignType.PROMOTION}
    if not promotions:
        return
    for campaign in promotions.values():
        campaign._promotion_tiers = []
    rows = promotion_tiers_query(project).filter(campaign_id__in=promotions).order_by("hierarchy", "pk")
    for tier in rows:
        promotions[tier.campaign_id]._promotion_tiers.append(tier)
