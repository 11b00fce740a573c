"""What sending would do, without sending: audience size, who would be skipped, whether codes suffice."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from campaigns.models import Campaign
from customers.models import Customer
from distributions import catalogue
from distributions.models import Distribution
from distributions.selectors import free_code_count
from distributions.sending import ADDRESS_OF_CHANNEL
from distributions.services import distribution_problems
from segments.models import Segment
from segments.selectors import segment_get, segment_member_ids
from tenancy.models import Project


@dataclass
class Audience:
    type: str
    size: int | None
    available: bool = True
    reason: str = ""


@dataclass
class Skipped:
    channel: str
    reason: str
    count: int


@dataclass
class CodePool:
    campaign: str
    free_codes: int
    needed: int | None
    missing: int | None
    sufficient: bool | None
    grows_on_demand: bool


@dataclass
class Preflight:
    ready_to_send: bool
    problems: list[str]
    audience: Audience
    skipped: list[Skipped] = field(default_factory=list)
    code_pool: CodePool | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _audience(project: Project, distribution: Distribution) -> tuple[Audience, QuerySet[Customer]]:
    """The audience now, and its customers as a queryset (counted and aggregated, never loaded)."""
    nobody = Customer.objects.for_project(project).none()
    if distribution.kind == "automatic":
        return Audience("event", None, reason="each matching event's customer"), nobody
    audience = distribution.audience or {}
    if audience.get("type") == "customer" and audience.get("customer"):
        customers = Customer.objects.for_project(project).filter(public_id=audience["customer"])
        return Audience("customer", customers.count()), customers
    if audience.get("type") == "segment" and audience.get("segment"):
        segment = segment_get(project=project, identifier=audience["segment"])
        if segment is None:
            return Audience("segment", 0, available=False, reason="The segment no longer exists."), nobody
        customers = Customer.objects.for_project(project).filter(
            pk__in=segment_member_ids(project=project, segment=segment)
        )
        size = customers.count()
        if segment.initial_sync_status != Segment.InitialSyncStatus.DONE:
            reason = "The segment's first sync has not finished: sending starts 10 minutes after it does."
            return Audience("segment", size, reason=reason), customers
        return Audience("segment", size), customers
    return Audience("none", 0, available=False, reason="No audience chosen yet."), nobody


def _skipped(distribution: Distribution, customers: QuerySet[Customer]) -> list[Skipped]:
    """Per channel needing an address: how many of the audience lack it (one aggregate query)."""
    wanted = {
        channel.kind: ADDRESS_OF_CHANNEL[channel.kind]
        for channel in distribution.channels.all()
        if channel.kind in ADDRESS_OF_CHANNEL
    }
    if not wanted:
        return []
    counts = customers.aggregate(
        **{
            kind: Count("pk", filter=Q(**{f"{address}__isnull": True}) | Q(**{address: ""}))
            for kind, address in wanted.items()
        }
    )
    return [Skipped(kind, f"no_{address}", counts[kind]) for kind, address in wanted.items() if counts[kind]]


def _code_pool(project: Project, distribution: Distribution, audience: Audience) -> CodePool | None:
    action = catalogue.action(distribution.action_key)
    campaign_id = distribution.action_params.get("campaign")
    if action is None or action.key != "publish_codes" or not campaign_id:
        return None
    campaign = Campaign.objects.for_project(project).filter(public_id=campaign_id).first()
    if campaign is None:
        return None
    free = free_code_count(project=project, campaign=campaign)
    grows = campaign.type == Campaign.Type.AUTO_UPDATE
    needed = audience.size if audience.type != "event" else None
    if needed is None:
        return CodePool(campaign.public_id, free, None, None, None, grows)
    missing = 0 if grows else max(needed - free, 0)
    return CodePool(campaign.public_id, free, needed, missing, missing == 0, grows)


def distribution_preflight(*, project: Project, distribution: Distribution) -> Preflight:
    problems = distribution_problems(project=project, distribution=distribution)
    audience, customers = _audience(project, distribution)
    return Preflight(
        ready_to_send=not problems,
        problems=[str(problem) for problem in problems],
        audience=audience,
        skipped=_skipped(distribution, customers),
        code_pool=_code_pool(project, distribution, audience),
    )
