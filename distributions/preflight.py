"""What sending would do, without sending: audience size, who would be skipped, whether codes suffice."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from campaigns.models import Campaign
from customers.models import Customer
from distributions import catalogue
from distributions.models import Distribution
from distributions.selectors import free_code_count
from distributions.services import distribution_problems
from tenancy.models import Project

# The customer field a channel needs to reach someone; integrations match the profile by id.
ADDRESS_OF_CHANNEL = {"email": "email", "sms": "phone"}


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


def _audience(project: Project, distribution: Distribution) -> tuple[Audience, list[Customer]]:
    """The audience now, and its customers when it is small enough to hold (one customer)."""
    if distribution.kind == "automatic":
        return Audience("event", None, reason="each matching event's customer"), []
    audience = distribution.audience or {}
    if audience.get("type") == "customer" and audience.get("customer"):
        customers = list(Customer.objects.for_project(project).filter(public_id=audience["customer"]))
        return Audience("customer", len(customers)), customers
    if audience.get("type") == "segment":
        # After merge: the segment's member count (and address counts by one aggregate query).
        return Audience("segment", None, available=False, reason="Segments are not available yet."), []
    return Audience("none", 0, available=False, reason="No audience chosen yet."), []


def _skipped(distribution: Distribution, customers: list[Customer]) -> list[Skipped]:
    skipped = []
    for channel in distribution.channels.all():
        address = ADDRESS_OF_CHANNEL.get(channel.kind)
        if address is None:
            continue
        count = sum(1 for customer in customers if not getattr(customer, address))
        if count:
            skipped.append(Skipped(channel.kind, f"no_{address}", count))
    return skipped


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
