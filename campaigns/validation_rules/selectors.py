"""Reads of validation rules that other parts of the system need."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Q

from campaigns.models import ValidationRule, ValidationRuleAssignment
from tenancy.models import Project


def rules_guarding(
    *, project: Project, related_object_type: str, related_object_id: str
) -> list[ValidationRule]:
    """The rule sets assigned to one object (e.g. `"promotion_tier"`, `tier.public_id`), oldest
    assignment first, in one query: what a redemption evaluates with `validation_rules_evaluate_all`."""
    return list(
        ValidationRule.objects.for_project(project)
        .filter(
            assignments__related_object_type=related_object_type,
            assignments__related_object_id=related_object_id,
        )
        .order_by("assignments__created_at", "assignments__pk")
    )


def rules_guarding_any(
    *, project: Project, objects: Sequence[tuple[str, str]]
) -> list[tuple[str, ValidationRule]]:
    """(related_object_type, rule set) for every rule set assigned to any of `objects` (pairs of
    type and public id, e.g. a tier and its campaign), in the order of `objects`, then oldest
    assignment first; one query. A rule set assigned twice is evaluated twice, once per scope."""
    if not objects:
        return []
    guards = Q()
    for related_object_type, related_object_id in objects:
        guards |= Q(related_object_type=related_object_type, related_object_id=related_object_id)
    assignments = (
        ValidationRuleAssignment.objects.for_project(project)
        .filter(guards)
        .select_related("rule")
        .order_by("created_at", "pk")
    )
    rank = {pair: position for position, pair in enumerate(objects)}
    found = sorted(assignments, key=lambda row: rank[(row.related_object_type, row.related_object_id)])
    return [(row.related_object_type, row.rule) for row in found]
