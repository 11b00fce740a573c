"""The wizard's searchable pickers: the options a parameter of each kind can take in the project."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from campaigns.models import Campaign, LoyaltyTier, PromotionTier, ValidationRule
from customers.models import Customer
from customers.selectors import event_definitions
from distributions.catalogue import Parameter, ParameterKind
from segments.models import Segment
from segments.selectors import segments_listed
from tenancy.models import Project

OPTIONS_SHOWN = 50


@dataclass
class Picker:
    """One picker as the template draws it: a search box filtering a select of the project's objects."""

    name: str
    label: str
    kind: str
    options: list[tuple[str, str]]
    selected: str = ""
    campaign_types: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)
    required: bool = True

    @property
    def noun(self) -> str:
        return self.label.lower()


def _campaign_label(campaign: Campaign) -> str:
    return f"{campaign.name} ({campaign.campaign_type.replace('_', ' ').lower()})"


def _customer_label(customer: Customer) -> str:
    who = customer.name or customer.email or customer.source_id or customer.public_id
    extra = customer.email if customer.name and customer.email else ""
    return f"{who} · {extra}" if extra else who


def options(
    project: Project, kind: str, *, q: str = "", selected: str = "", campaign_types: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """(public id, label) pairs matching `q`, the selected one always among them."""
    q = q.strip()[:100]
    if kind in (ParameterKind.CAMPAIGN, ParameterKind.LOYALTY_CAMPAIGN):
        rows = Campaign.objects.for_project(project)
        if campaign_types:
            rows = rows.filter(campaign_type__in=campaign_types)
        query, label = Q(name__icontains=q), _campaign_label
    elif kind == ParameterKind.SEGMENT:
        # Drafts stay hidden from pickers, except the one this distribution made and chose.
        rows = segments_listed(project=project) | Segment.objects.for_project(project).filter(
            public_id=selected
        )
        query, label = Q(name__icontains=q), lambda s: s.name
    elif kind == ParameterKind.VALIDATION_RULE:
        rows, query, label = (
            ValidationRule.objects.for_project(project),
            Q(name__icontains=q),
            lambda r: r.name,
        )
    elif kind == ParameterKind.LOYALTY_TIER:
        rows, query, label = LoyaltyTier.objects.for_project(project), Q(name__icontains=q), lambda t: t.name
    elif kind == ParameterKind.PROMOTION_TIER:
        rows, query, label = (
            PromotionTier.objects.for_project(project),
            Q(name__icontains=q),
            lambda t: t.name,
        )
    elif kind == ParameterKind.CUSTOMER:
        rows = Customer.objects.for_project(project)
        query = Q(name__icontains=q) | Q(email__icontains=q) | Q(source_id__icontains=q)
        label = _customer_label
    elif kind == ParameterKind.CUSTOM_EVENT_NAME:
        names = [d.name for d in event_definitions(project=project) if q.lower() in d.name.lower()]
        return [(name, name) for name in names[:OPTIONS_SHOWN]]
    else:
        return []
    found = (
        list(rows.filter(query).order_by("-created_at", "-pk")[:OPTIONS_SHOWN])
        if q
        else list(rows.order_by("-created_at", "-pk")[:OPTIONS_SHOWN])
    )
    pairs = [(row.public_id, label(row)) for row in found]
    if selected and selected not in {value for value, _ in pairs}:
        chosen = rows.filter(public_id=selected).first()
        if chosen is not None:
            pairs.insert(0, (chosen.public_id, label(chosen)))
    return pairs


def picker_for(
    project: Project, parameter: Parameter, selected: str, errors: list[str] | None = None
) -> Picker:
    return Picker(
        name=parameter.name,
        label=parameter.label,
        kind=str(parameter.kind),
        options=options(project, parameter.kind, selected=selected, campaign_types=parameter.campaign_types),
        selected=selected or "",
        campaign_types=parameter.campaign_types,
        errors=errors or [],
        required=parameter.required,
    )
