"""Reads used by the API, the dashboard and the preflight."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from campaigns.models import Campaign, Publication, Voucher
from distributions.models import Distribution, DistributionStatus
from tenancy.models import Project


def distribution_get(*, project: Project, public_id: str) -> Distribution | None:
    """The project's distribution; None for a missing or another project's one (archived included)."""
    return Distribution.objects.for_project(project).filter(public_id=public_id).first()


def free_code_count(*, project: Project, campaign: Campaign) -> int:
    """Codes of `campaign` a publication could still claim: active, unexpired and never published
    (the same candidates as `campaigns.publications`' claim)."""
    published = Publication.objects.for_project(project).filter(voucher=OuterRef("pk"))
    return (
        Voucher.objects.for_project(project)
        .filter(campaign=campaign, active=True)
        .filter(Q(expiration_date__isnull=True) | Q(expiration_date__gt=timezone.now()))
        .exclude(Exists(published))
        .count()
    )


# A segment or campaign is "in use" while something could still send because of it.
IN_USE = (
    DistributionStatus.SCHEDULED,
    DistributionStatus.SENDING,
    DistributionStatus.LIVE,
    DistributionStatus.PAUSED,
)


def distributions_using_segment(*, project: Project, segment_public_id: str) -> list[Distribution]:
    """Scheduled, sending, live or paused distributions whose trigger or audience names the segment:
    the ones a segment deletion must name when it refuses."""
    return list(
        Distribution.objects.for_project(project)
        .filter(status__in=IN_USE)
        .filter(Q(trigger_params__segment=segment_public_id) | Q(audience__segment=segment_public_id))
        .order_by("created_at", "pk")
    )


def campaign_distributions(*, project: Project, campaign_public_id: str) -> QuerySet[Distribution]:
    """Every distribution (archived ones aside) whose trigger or action names the campaign, newest
    first: the campaign page's Distributions tab pages through it."""
    return (
        Distribution.objects.for_project(project)
        .visible()
        .filter(
            Q(trigger_params__campaign=campaign_public_id) | Q(action_params__campaign=campaign_public_id)
        )
        .order_by("-created_at", "-pk")
    )


def distributions_of_campaign(*, project: Project, campaign_public_id: str) -> list[Distribution]:
    return list(campaign_distributions(project=project, campaign_public_id=campaign_public_id))
