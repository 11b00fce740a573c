"""Reads used by the API, the dashboard and the distributions app."""

from __future__ import annotations

from collections.abc import Iterable

from campaigns.models import Campaign, Publication, Voucher
from tenancy.models import Project


def campaign_get(*, project: Project, identifier: str) -> Campaign | None:
    """The project's campaign with this id or name; None for a missing or another project's one."""
    return Campaign.objects.for_project(project).by_id_or_name(identifier).first()


def voucher_get(*, project: Project, code: str) -> Voucher | None:
    """The project's code; None for a missing or another project's one."""
    return Voucher.objects.for_project(project).select_related("campaign").filter(code=code).first()


def holders_of(*, project: Project, voucher_ids: Iterable[int]) -> dict[int, str]:
    """voucher pk → public id of the customer holding it (published codes only)."""
    rows = (
        Publication.objects.for_project(project)
        .filter(voucher_id__in=list(voucher_ids))
        .values_list("voucher_id", "customer__public_id")
    )
    return dict(rows)


def codes_of_customer(*, project: Project, customer_id: int, limit: int) -> list[Publication]:
    """The codes published to a customer, newest first, with their code and campaign loaded."""
    return list(
        Publication.objects.for_project(project)
        .filter(customer_id=customer_id)
        .select_related("voucher", "campaign")
        .order_by("-created_at", "-pk")[:limit]
    )
