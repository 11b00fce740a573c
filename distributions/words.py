"""A distribution's conditions in words, for the list and the Details tab.

Parameters are stored as public ids; people read names. `parameter_names` looks up every id a set
of distributions names, one query per kind whatever the number of distributions, so a list page
costs the same for 3 rows or 50.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.formats import date_format
from django.utils.timezone import localtime

from campaigns.models import Campaign, LoyaltyTier, PromotionTier, ValidationRule
from customers.models import Customer
from distributions import catalogue
from distributions.catalogue import ParameterKind
from distributions.models import Distribution
from segments.models import Segment
from tenancy.models import Project

# What each kind of parameter names, and the column that reads as its name.
NAMED_KINDS = {
    ParameterKind.CAMPAIGN: (Campaign, "name"),
    ParameterKind.LOYALTY_CAMPAIGN: (Campaign, "name"),
    ParameterKind.SEGMENT: (Segment, "name"),
    ParameterKind.LOYALTY_TIER: (LoyaltyTier, "name"),
    ParameterKind.VALIDATION_RULE: (ValidationRule, "name"),
    ParameterKind.PROMOTION_TIER: (PromotionTier, "name"),
    ParameterKind.CUSTOMER: (Customer, "email"),
}


@dataclass(frozen=True)
class Condition:
    label: str  # the parameter's label in the catalogue ("Validation rule")
    value: str  # what it names, by name ("Orders above $99"), or the id when it is gone
    part: str  # "trigger", "action" or "audience"


def _parameters(distribution: Distribution) -> Iterable[tuple[str, catalogue.Parameter, object]]:
    trigger = catalogue.trigger(distribution.trigger_key)
    action = catalogue.action(distribution.action_key)
    for part, definition, params in (
        ("trigger", trigger, distribution.trigger_params),
        ("action", action, distribution.action_params),
    ):
        if definition is None:
            continue
        for parameter in definition.parameters:
            value = (params or {}).get(parameter.name)
            if value not in (None, ""):
                yield part, parameter, value
    audience = distribution.audience or {}
    if audience.get("type") == "customer" and audience.get("customer"):
        yield (
            "audience",
            catalogue.Parameter("customer", ParameterKind.CUSTOMER, "Customer"),
            audience["customer"],
        )
    if audience.get("type") == "segment" and audience.get("segment"):
        yield (
            "audience",
            catalogue.Parameter("segment", ParameterKind.SEGMENT, "Segment"),
            audience["segment"],
        )


def parameter_names(*, project: Project, distributions: Iterable[Distribution]) -> dict[str, str]:
    """Public id → name for everything the distributions' parameters name (one query per kind)."""
    wanted: dict[type, set[str]] = {}
    columns: dict[type, str] = {}
    for distribution in distributions:
        for _, parameter, value in _parameters(distribution):
            named = NAMED_KINDS.get(parameter.kind)
            if named is not None and isinstance(value, str):
                model, column = named
                wanted.setdefault(model, set()).add(value)
                columns[model] = column
    names: dict[str, str] = {}
    for model, ids in wanted.items():
        found = model.objects.for_project(project).filter(public_id__in=ids)
        rows = found.values_list("public_id", columns[model])
        names.update({public_id: name or public_id for public_id, name in rows})
    return names


def conditions(distribution: Distribution, names: dict[str, str]) -> list[Condition]:
    """The trigger's and action's parameters and the audience, each by its label and what it names."""
    return [
        Condition(parameter.label, names.get(value, value) if isinstance(value, str) else str(value), part)
        for part, parameter, value in _parameters(distribution)
    ]


def time_frame(distribution: Distribution) -> str:
    """When an automatic distribution's events count, in words (dates in the active time zone)."""

    def moment(value) -> str:
        return date_format(localtime(value), "M j, Y H:i")

    if distribution.live_from and distribution.live_until:
        return f"from {moment(distribution.live_from)} until {moment(distribution.live_until)}"
    if distribution.live_from:
        return f"from {moment(distribution.live_from)}, with no end"
    if distribution.live_until:
        return f"until {moment(distribution.live_until)}"
    return "always, until paused"
