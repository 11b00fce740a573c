"""Reads used by the API, the dashboard and the preflight."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from campaigns.models import Campaign, Publication, Voucher
from distributions.models import Distribution
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
