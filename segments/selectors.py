"""Reads of segments used across apps.

For the validation-rule evaluator (`customer.segment` rule): `segment_ids_of_customer`.
For distributions' audiences: `segment_member_ids` (a queryset of customer pks, to use as a subquery,
e.g. `Customer.objects.for_project(p).filter(pk__in=segment_member_ids(project=p, segment=s))`).
Both read stored membership, which the sync and the real-time re-check keep current.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import QuerySet

from customers.models import Customer
from segments.models import Segment, SegmentMember
from tenancy.models import Project


def segment_get(*, project: Project, identifier: str) -> Segment | None:
    """The project's segment with this public id; None for a missing or another project's one."""
    return Segment.objects.for_project(project).filter(public_id=identifier).first()


def segments_listed(*, project: Project) -> QuerySet[Segment]:
    """The segments lists and pickers show: drafts stay hidden until their distribution is saved."""
    return Segment.objects.for_project(project).filter(is_draft=False).order_by("-created_at", "-pk")


def segment_ids_of_customer(*, project: Project, customer: Customer) -> set[str]:
    """Public ids of every segment the customer is a member of (drafts included: a draft
    distribution's rule may name its draft segment)."""
    return set(
        SegmentMember.objects.for_project(project)
        .filter(customer_id=customer.pk)
        .values_list("segment__public_id", flat=True)
    )


def segment_ids_existing(*, project: Project, segment_ids: Collection[str]) -> set[str]:
    """Those of `segment_ids` that are segments of the project (for rules naming segments)."""
    return set(
        Segment.objects.for_project(project)
        .filter(public_id__in=list(segment_ids))
        .values_list("public_id", flat=True)
    )


def segments_of_customer(*, project: Project, customer: Customer) -> QuerySet[Segment]:
    return (
        Segment.objects.for_project(project)
        .filter(
            is_draft=False,
            pk__in=SegmentMember.objects.for_project(project)
            .filter(customer_id=customer.pk)
            .values("segment_id"),
        )
        .order_by("created_at", "pk")
    )


def segment_member_ids(*, project: Project, segment: Segment) -> QuerySet:
    """The member customers' pks, as a lazy queryset: use it as a subquery or iterate it in batches."""
    return (
        SegmentMember.objects.for_project(project)
        .filter(segment=segment)
        .values_list("customer_id", flat=True)
    )


def filter_estimated_count(*, project: Project, filter: dict) -> int:
    """How many of the project's customers the filter selects now: the compiled query, counted."""
    from segments.filters import compile_filter

    compiled = compile_filter(filter, zone=project.timezone)
    return Customer.objects.for_project(project).filter(compiled.q).count()
