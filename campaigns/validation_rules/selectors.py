"""Reads of validation rules that other parts of the system need."""

from __future__ import annotations

from campaigns.models import ValidationRule
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
