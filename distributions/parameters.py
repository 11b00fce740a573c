"""Resolving a distribution's parameters: each kind has a resolver `(project, value) -> object`.

A resolver looks the value up inside the project only (another project's object is as missing as a
nonexistent one) and raises `ParameterInvalid` with a sentence saying what is wrong. The caller
(`resolve_parameter`) adds the field path, so every error names the field.

Every kind is registered with `register_resolver(kind, resolver)` below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from campaigns.models import Campaign, LoyaltyTier, PromotionTier, ValidationRule
from campaigns.selectors import campaign_get
from customers.models import Customer
from distributions.catalogue import Parameter, ParameterKind
from tenancy.models import Project

MAX_EVENT_NAME_LENGTH = 255


class ParameterInvalid(Exception):
    """The value names nothing usable; the message says why (the field path is added by the caller)."""


@dataclass(frozen=True)
class ResolvedParameter:
    value: Any  # the object found (or the value itself for plain kinds)
    public_id: str  # what is stored: the object's public id, so that a renamed campaign still matches


Resolver = Callable[[Project, Any], ResolvedParameter]
_RESOLVERS: dict[ParameterKind, Resolver] = {}


def register_resolver(kind: ParameterKind, resolver: Resolver) -> None:
    _RESOLVERS[kind] = resolver


def resolver_for(kind: ParameterKind) -> Resolver:
    return _RESOLVERS[kind]


def _identifier(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ParameterInvalid(f"must be the id of a {what}")
    return value


def resolve_campaign(project: Project, value: Any) -> ResolvedParameter:
    identifier = _identifier(value, "campaign")
    campaign = campaign_get(project=project, identifier=identifier)
    if campaign is None:
        raise ParameterInvalid(f"cannot find campaign with id {identifier}")
    return ResolvedParameter(campaign, campaign.public_id)


def resolve_customer(project: Project, value: Any) -> ResolvedParameter:
    identifier = _identifier(value, "customer")
    customer = Customer.objects.for_project(project).by_id_or_source_id(identifier).first()
    if customer is None:
        raise ParameterInvalid(f"cannot find customer with id {identifier}")
    return ResolvedParameter(customer, customer.public_id)


def resolve_custom_event_name(project: Project, value: Any) -> ResolvedParameter:
    name = _identifier(value, "custom event name")
    if len(name) > MAX_EVENT_NAME_LENGTH:
        raise ParameterInvalid(f"must be at most {MAX_EVENT_NAME_LENGTH} characters")
    return ResolvedParameter(name, name)


def resolve_promotion_tier(project: Project, value: Any) -> ResolvedParameter:
    identifier = _identifier(value, "promotion tier")
    tier = PromotionTier.objects.for_project(project).filter(public_id=identifier).first()
    if tier is None:
        raise ParameterInvalid(f"cannot find promotion tier with id {identifier}")
    return ResolvedParameter(tier, tier.public_id)


def resolve_validation_rule(project: Project, value: Any) -> ResolvedParameter:
    identifier = _identifier(value, "validation rule")
    rule = ValidationRule.objects.for_project(project).filter(public_id=identifier).first()
    if rule is None:
        raise ParameterInvalid(f"cannot find validation rule with id {identifier}")
    return ResolvedParameter(rule, rule.public_id)


def resolve_loyalty_tier(project: Project, value: Any) -> ResolvedParameter:
    identifier = _identifier(value, "loyalty tier")
    tier = LoyaltyTier.objects.for_project(project).filter(public_id=identifier).first()
    if tier is None:
        raise ParameterInvalid(f"cannot find loyalty tier with id {identifier}")
    return ResolvedParameter(tier, tier.public_id)


def resolve_segment(project: Project, value: Any) -> ResolvedParameter:
    from segments.selectors import segment_get

    identifier = _identifier(value, "segment")
    segment = segment_get(project=project, identifier=identifier)
    if segment is None:
        raise ParameterInvalid(f"cannot find segment with id {identifier}")
    return ResolvedParameter(segment, segment.public_id)


register_resolver(ParameterKind.CAMPAIGN, resolve_campaign)
register_resolver(ParameterKind.LOYALTY_CAMPAIGN, resolve_campaign)
register_resolver(ParameterKind.CUSTOMER, resolve_customer)
register_resolver(ParameterKind.CUSTOM_EVENT_NAME, resolve_custom_event_name)
register_resolver(ParameterKind.SEGMENT, resolve_segment)
register_resolver(ParameterKind.PROMOTION_TIER, resolve_promotion_tier)
register_resolver(ParameterKind.VALIDATION_RULE, resolve_validation_rule)
register_resolver(ParameterKind.LOYALTY_TIER, resolve_loyalty_tier)


def resolve_parameter(project: Project, parameter: Parameter, value: Any) -> ResolvedParameter:
    """Resolve `value` for `parameter`, checking a campaign's type; raises `ParameterInvalid`."""
    resolved = resolver_for(parameter.kind)(project, value)
    if parameter.campaign_types and isinstance(resolved.value, Campaign):
        campaign_type = resolved.value.campaign_type
        if campaign_type not in parameter.campaign_types:
            raise ParameterInvalid(
                f"campaign {resolved.public_id} is a {campaign_type} campaign; "
                f"expected {' or '.join(parameter.campaign_types)}"
            )
    return resolved
