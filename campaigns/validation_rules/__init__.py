"""Validation rules: the rules JSON catalogue and check, the `logic` parser, and the one evaluator.

Public interface (see `evaluator` for how redemptions and distributions build a context):

    validation_rule_evaluate(*, project, rule, context: RuleContext) -> RuleOutcome
    validation_rules_evaluate_all(*, project, rules, context) -> RuleOutcome
    rules_evaluate(*, project, rules: dict, context, error_message=None) -> RuleOutcome
    check_rules(rules, *, segments_available) -> (stored_rules, logic)     # raises InvalidRules
    register_segment_membership(provider)        # the segments app enables customer.segment
    register_segment_lookup(lookup)              # ...and names its segments, checked at save
    rules_guarding(*, project, related_object_type, related_object_id) -> [ValidationRule]
    rules_guarding_any(*, project, objects=[(type, id), ...]) -> [(type, ValidationRule)]
      (both in campaigns.validation_rules.selectors: they import models)
    validation_rule_assign(...), validation_rules_assign_to_campaign(...)   # .services

Redemptions evaluate the rules guarding a code's campaign, or a promotion tier and its campaign
(`campaigns.redeemables.refuse_unless_rules_pass`).
"""

from campaigns.validation_rules.catalogue import (
    CONTEXT_TYPES,
    OPERATORS,
    RULE_NAMES,
    RULE_TYPES,
    InvalidRules,
    check_rules,
)
from campaigns.validation_rules.evaluator import (
    RuleContext,
    RuleOutcome,
    register_segment_lookup,
    register_segment_membership,
    rules_evaluate,
    segment_ids_of_customer,
    segments_available,
    validation_rule_evaluate,
    validation_rules_evaluate_all,
)
from campaigns.validation_rules.logic import InvalidLogic, parse_logic

__all__ = [
    "CONTEXT_TYPES",
    "OPERATORS",
    "RULE_NAMES",
    "RULE_TYPES",
    "InvalidLogic",
    "InvalidRules",
    "RuleContext",
    "RuleOutcome",
    "check_rules",
    "parse_logic",
    "register_segment_lookup",
    "register_segment_membership",
    "rules_evaluate",
    "segment_ids_of_customer",
    "segments_available",
    "validation_rule_evaluate",
    "validation_rules_evaluate_all",
]
