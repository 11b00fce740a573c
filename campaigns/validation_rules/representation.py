"""Voucherify's validation rule object (`object` is the plural "validation_rules", as Voucherify's)."""

from __future__ import annotations

from typing import Any

from campaigns.models import ValidationRule, ValidationRuleAssignment
from tenancy.formats import iso

EMPTY_APPLICABLE_TO = {"included": [], "excluded": [], "included_all": False}


def validation_rule_object(rule: ValidationRule, *, assignments_count: int) -> dict[str, Any]:
    return {
        "id": rule.public_id,
        "name": rule.name,
        "rules": rule.rules,
        "bundle_rules": rule.bundle_rules or {},
        "error": {"message": rule.error_message} if rule.error_message else None,
        "applicable_to": rule.applicable_to or EMPTY_APPLICABLE_TO,
        "type": rule.type,
        "context_type": rule.context_type,
        "created_at": iso(rule.created_at),
        "updated_at": iso(rule.updated_at),
        "assignments_count": assignments_count,
        "object": "validation_rules",
    }


def assignment_object(assignment: ValidationRuleAssignment) -> dict[str, Any]:
    """Voucherify's validation_rules_assignment; `assignment.rule` preloaded."""
    return {
        "id": assignment.public_id,
        "rule_id": assignment.rule.public_id,
        "related_object_id": assignment.related_object_id,
        "related_object_type": assignment.related_object_type,
        "created_at": iso(assignment.created_at),
        "object": "validation_rules_assignment",
    }
