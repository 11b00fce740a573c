"""Every write to validation rules: one transaction each; the rules JSON is checked before anything
is written, so a malformed rule set changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import PromotionTier, ValidationRule, ValidationRuleAssignment
from campaigns.services import CampaignRefused
from campaigns.validation_rules.catalogue import InvalidRules, check_rules
from campaigns.validation_rules.evaluator import segments_available
from tenancy.ids import new_public_id
from tenancy.models import Project

_SIMPLE = ("name", "bundle_rules", "applicable_to", "type", "context_type")


def _columns(fields: Mapping[str, Any]) -> dict[str, Any]:
    values = {name: fields[name] for name in _SIMPLE if name in fields}
    if "bundle_rules" in values and values["bundle_rules"] is None:
        values["bundle_rules"] = {}
    if "error" in fields:
        values["error_message"] = (fields["error"] or {}).get("message") or ""
    if "rules" in fields:
        try:
            values["rules"], values["logic"] = check_rules(
                fields["rules"], segments_available=segments_available()
            )
        except InvalidRules as error:
            raise CampaignRefused("invalid_validation_rules", str(error)) from None
    return values


def _duplicate(name: str) -> CampaignRefused:
    return CampaignRefused(
        "duplicate_found", f"A validation rule named {name} already exists.", status_code=409
    )


def validation_rule_create(*, project: Project, fields: Mapping[str, Any]) -> ValidationRule:
    """A rule set from request fields (validated in shape by the API layer; rules checked here)."""
    values = _columns(fields)
    values.setdefault("rules", {})
    values.setdefault("logic", "")
    try:
        with transaction.atomic():
            return ValidationRule.objects.create(
                project=project, public_id=new_public_id("val", 24), **values
            )
    except IntegrityError:
        raise _duplicate(fields["name"]) from None


def validation_rule_update(
    *, project: Project, rule: ValidationRule, fields: Mapping[str, Any]
) -> ValidationRule:
    """Change the fields given; `rules` given replaces the whole rule set."""
    values = _columns(fields)
    try:
        with transaction.atomic():
            locked = ValidationRule.objects.for_project(project).select_for_update().get(pk=rule.pk)
            for name, value in values.items():
                setattr(locked, name, value)
            locked.updated_at = timezone.now()
            locked.save(update_fields=[*values, "updated_at"])
    except IntegrityError:
        raise _duplicate(fields["name"]) from None
    return locked


@transaction.atomic
def validation_rule_delete(*, project: Project, rule: ValidationRule) -> None:
    """Delete the rule set and its assignments: what it guarded is no longer guarded by it."""
    ValidationRule.objects.for_project(project).filter(pk=rule.pk).delete()


class RelatedObjectMissing(CampaignRefused):
    """The object to guard is not in the project: a 404 naming it."""

    def __init__(self, resource_type: str, identifier: str) -> None:
        super().__init__("not_found", f"Cannot find {resource_type} with id {identifier}", status_code=404)
        self.resource_type = resource_type
        self.identifier = identifier


def validation_rule_assign(
    *,
    project: Project,
    rule: ValidationRule,
    related_object_type: str,
    related_object_id: str,
    force: bool = False,
) -> ValidationRuleAssignment:
    """Guard an object with the rule set; `force` replaces an existing identical assignment instead
    of refusing it (409). Promotion tiers only for now: other objects' assignments arrive with the
    code that evaluates them (and deletes them with the object)."""
    if related_object_type != ValidationRuleAssignment.RelatedObjectType.PROMOTION_TIER:
        raise CampaignRefused(
            "invalid_payload",
            f"Assigning validation rules to a {related_object_type} is not supported yet; promotion_tier is.",
        )
    with transaction.atomic():
        tier = (
            PromotionTier.objects.for_project(project)
            .select_for_update()
            .filter(public_id=related_object_id)
            .first()
        )
        if tier is None:
            raise RelatedObjectMissing("promotion_tier", related_object_id)
        if force:
            ValidationRuleAssignment.objects.for_project(project).filter(
                rule=rule, promotion_tier=tier
            ).delete()
        try:
            with transaction.atomic():
                return ValidationRuleAssignment.objects.create(
                    project=project,
                    public_id=new_public_id("asgm", 16),
                    rule=rule,
                    related_object_type=related_object_type,
                    related_object_id=tier.public_id,
                    promotion_tier=tier,
                )
        except IntegrityError:
            raise CampaignRefused(
                "duplicate_found",
                f"Validation rule {rule.public_id} is already assigned to {related_object_id}.",
                status_code=409,
            ) from None


@transaction.atomic
def validation_rule_unassign(*, project: Project, assignment: ValidationRuleAssignment) -> None:
    ValidationRuleAssignment.objects.for_project(project).filter(pk=assignment.pk).delete()
