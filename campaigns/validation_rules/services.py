"""Every write to validation rules: one transaction each; the rules JSON is checked before anything
is written, so a malformed rule set changes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Campaign, PromotionTier, ValidationRule, ValidationRuleAssignment
from campaigns.services import CampaignRefused
from campaigns.validation_rules.catalogue import InvalidRules, check_rules
from campaigns.validation_rules.evaluator import segments_available, unknown_segment_ids
from tenancy.ids import new_public_id
from tenancy.models import Project

_SIMPLE = ("name", "bundle_rules", "applicable_to", "type", "context_type")


def _segments_named(rules: Mapping[str, Any]) -> dict[str, list[str]]:
    """Rule number → the segment ids a `customer.segment` rule names (rules already checked)."""
    named: dict[str, list[str]] = {}
    for number, rule in rules.items():
        if number != "logic" and rule.get("name") == "customer.segment":
            values = [v for vs in (rule.get("conditions") or {}).values() for v in vs]
            named[number] = list(dict.fromkeys(values))
    return named


def _refuse_unknown_segments(project: Project, rules: Mapping[str, Any]) -> None:
    for number, segment_ids in _segments_named(rules).items():
        unknown = unknown_segment_ids(project=project, segment_ids=segment_ids)
        if unknown:
            raise CampaignRefused(
                "invalid_validation_rules", f"Rule {number} (customer.segment): no segment {unknown[0]}"
            )


def _columns(fields: Mapping[str, Any], *, project: Project) -> dict[str, Any]:
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
        _refuse_unknown_segments(project, values["rules"])
    return values


def _duplicate(name: str) -> CampaignRefused:
    return CampaignRefused(
        "duplicate_found", f"A validation rule named {name} already exists.", status_code=409
    )


def validation_rule_create(*, project: Project, fields: Mapping[str, Any]) -> ValidationRule:
    """A rule set from request fields (validated in shape by the API layer; rules checked here)."""
    values = _columns(fields, project=project)
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
    values = _columns(fields, project=project)
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


_GUARDED_MODELS = {
    ValidationRuleAssignment.RelatedObjectType.PROMOTION_TIER: (PromotionTier, "promotion_tier"),
    ValidationRuleAssignment.RelatedObjectType.CAMPAIGN: (Campaign, "campaign"),
}


def validation_rule_assign(
    *,
    project: Project,
    rule: ValidationRule,
    related_object_type: str,
    related_object_id: str,
    force: bool = False,
) -> ValidationRuleAssignment:
    """Guard an object with the rule set; `force` replaces an existing identical assignment instead
    of refusing it (409). Promotion tiers and campaigns (whose codes the rule then guards) for now:
    other objects' assignments arrive with the code that evaluates them (and deletes them with the
    object)."""
    if related_object_type not in _GUARDED_MODELS:
        raise CampaignRefused(
            "invalid_payload",
            f"Assigning validation rules to a {related_object_type} is not supported yet; "
            "promotion_tier and campaign are.",
        )
    model, link = _GUARDED_MODELS[related_object_type]
    with transaction.atomic():
        guarded = (
            model.objects.for_project(project)
            .select_for_update(no_key=True)
            .filter(public_id=related_object_id)
            .first()
        )
        if guarded is None:
            raise RelatedObjectMissing(related_object_type, related_object_id)
        if force:
            assignments = ValidationRuleAssignment.objects.for_project(project)
            assignments.filter(rule=rule, **{link: guarded}).delete()
        try:
            with transaction.atomic():
                return ValidationRuleAssignment.objects.create(
                    project=project,
                    public_id=new_public_id("asgm", 16),
                    rule=rule,
                    related_object_type=related_object_type,
                    related_object_id=guarded.public_id,
                    **{link: guarded},
                )
        except IntegrityError:
            raise CampaignRefused(
                "duplicate_found",
                f"Validation rule {rule.public_id} is already assigned to {related_object_id}.",
                status_code=409,
            ) from None


def validation_rules_assign_to_campaign(
    *, project: Project, campaign: Campaign, rule_ids: Sequence[str]
) -> list[ValidationRuleAssignment]:
    """The campaign's `validation_rules` given on create: each must be a rule set of the project
    (404 naming the first missing one). Call it inside the campaign's creation transaction."""
    rules = {
        rule.public_id: rule
        for rule in ValidationRule.objects.for_project(project).filter(public_id__in=set(rule_ids))
    }
    for identifier in rule_ids:
        if identifier not in rules:
            raise RelatedObjectMissing("validation_rule", identifier)
    return ValidationRuleAssignment.objects.bulk_create(
        [
            ValidationRuleAssignment(
                project=project,
                public_id=new_public_id("asgm", 16),
                rule=rules[identifier],
                related_object_type=ValidationRuleAssignment.RelatedObjectType.CAMPAIGN,
                related_object_id=campaign.public_id,
                campaign=campaign,
            )
            for identifier in dict.fromkeys(rule_ids)
        ]
    )


@transaction.atomic
def validation_rule_unassign(*, project: Project, assignment: ValidationRuleAssignment) -> None:
    ValidationRuleAssignment.objects.for_project(project).filter(pk=assignment.pk).delete()
