"""Every write to segments: one transaction each; filter segments start a sync job on commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from customers.models import Customer
from customers.services import CustomerNotFound
from eventbus.services import publish
from segments.filters import compile_filter
from segments.models import Segment, SegmentMember
from segments.sync import sync_job_create
from tenancy.ids import new_public_id
from tenancy.models import Project

MAX_STATIC_CUSTOMERS_PER_REQUEST = 1000
DRAFT_LIFETIME = timedelta(hours=24)


def _resolve_customers(project: Project, identifiers: Sequence[str]) -> list[int]:
    """Customer pks for ids or source_ids, in one query; the first unknown one raises CustomerNotFound
    (another project's customer is as unknown as a missing one)."""
    wanted = list(dict.fromkeys(identifiers))
    public_ids = [identifier for identifier in wanted if identifier.startswith("cust_")]
    rows = (
        Customer.objects.for_project(project)
        .filter(Q(public_id__in=public_ids) | Q(source_id__in=wanted))
        .values_list("pk", "public_id", "source_id")
    )
    found: dict[str, int] = {}
    for pk, public_id, source_id in rows:
        found[public_id] = pk
        if source_id is not None:
            found.setdefault(source_id, pk)
    for identifier in wanted:
        if identifier not in found:
            raise CustomerNotFound(identifier)
    return sorted({found[identifier] for identifier in wanted})


def _add_members(project: Project, segment: Segment, customer_ids: Iterable[int]) -> int:
    now = timezone.now()
    created = SegmentMember.objects.bulk_create(
        [
            SegmentMember(project=project, segment=segment, customer_id=pk, entered_at=now)
            for pk in customer_ids
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    return len(created)


def _recount(project: Project, segment: Segment) -> None:
    segment.member_count = SegmentMember.objects.for_project(project).filter(segment=segment).count()
    segment.synced_at = timezone.now()
    segment.save(update_fields=["member_count", "synced_at"])


@transaction.atomic
def segment_create(
    *,
    project: Project,
    name: str,
    type: str,
    filter: Mapping[str, Any] | None = None,
    customers: Sequence[str] = (),
    reentry_cooldown_seconds: int = 0,
    is_draft: bool = False,
) -> Segment:
    """Create a segment. A filter segment is compiled first (FilterError when it does not compile)
    and starts its initial sync (IN_PROGRESS until done); a static one lists `customers` (ids or
    source_ids of this project; CustomerNotFound otherwise) and is DONE at once."""
    now = timezone.now()
    is_static = type == Segment.Type.STATIC
    compiled = None if is_static else compile_filter(filter, now=now, zone=project.timezone)
    customer_ids = _resolve_customers(project, customers) if is_static else []
    segment = Segment.objects.create(
        project=project,
        public_id=new_public_id("seg", 24),
        name=name,
        type=type,
        filter=None if is_static else dict(filter or {}),
        is_time_dependent=bool(compiled and compiled.is_time_dependent),
        reentry_cooldown_seconds=reentry_cooldown_seconds,
        is_draft=is_draft,
        draft_created_at=now if is_draft else None,
        initial_sync_status=(
            Segment.InitialSyncStatus.DONE if is_static else Segment.InitialSyncStatus.IN_PROGRESS
        ),
        status=Segment.Status.SYNCED if is_static else Segment.Status.SYNCING,
        sync_progress=100 if is_static else 0,
        synced_at=now if is_static else None,
        first_synced_at=now if is_static else None,
        created_at=now,
    )
    if is_static:
        _add_members(project, segment, customer_ids)
        _recount(project, segment)
    else:
        sync_job_create(project=project, segment=segment)
    publish(project, "segment.created", refs={"segment": segment}, data={"type": segment.type})
    return segment


@transaction.atomic
def segment_update(
    *,
    project: Project,
    segment: Segment,
    filter: Mapping[str, Any] | None = None,
    name: str | None = None,
    reentry_cooldown_seconds: int | None = None,
) -> Segment:
    """Change what is given. A new filter is compiled first (FilterError) and re-synced: the difference
    against the current members is announced (after the baseline), as with any re-sync."""
    locked = Segment.objects.for_project(project).select_for_update().get(pk=segment.pk)
    changed = ["updated_at"]
    if filter is not None:
        if not locked.has_filter:
            raise ValueError("A static segment has no filter.")
        compiled = compile_filter(filter, now=timezone.now(), zone=project.timezone)
        locked.filter = dict(filter)
        locked.is_filter_valid = True
        locked.is_time_dependent = compiled.is_time_dependent
        locked.filter_version += 1
        changed += ["filter", "is_filter_valid", "is_time_dependent", "filter_version"]
    if name is not None:
        locked.name = name
        changed.append("name")
    if reentry_cooldown_seconds is not None:
        locked.reentry_cooldown_seconds = reentry_cooldown_seconds
        changed.append("reentry_cooldown_seconds")
    locked.updated_at = timezone.now()
    locked.save(update_fields=changed)
    if filter is not None:
        sync_job_create(project=project, segment=locked)
    return locked


@transaction.atomic
def segment_resync(*, project: Project, segment: Segment) -> None:
    """Start a re-sync of an unchanged filter (time-dependent filters, the dashboard's button)."""
    locked = Segment.objects.for_project(project).select_for_update().get(pk=segment.pk)
    if locked.has_filter and locked.is_filter_valid:
        sync_job_create(project=project, segment=locked)


class SegmentInUse(Exception):
    """A scheduled, sending, live or paused distribution uses the segment: the message names them."""


@transaction.atomic
def segment_delete(*, project: Project, segment: Segment) -> None:
    """Delete the segment and its memberships; members leave silently (the segment is gone).

    Refused (`SegmentInUse`) while a distribution that could still send uses it."""
    from distributions.selectors import distributions_using_segment

    users = distributions_using_segment(project=project, segment_public_id=segment.public_id)
    if users:
        names = ", ".join(f"{d.name or d.public_id} ({d.public_id}, {d.status})" for d in users)
        raise SegmentInUse(f"Segment {segment.public_id} is used by distributions: {names}.")
    publish(project, "segment.deleted", refs={"segment": segment}, data={"name": segment.name})
    Segment.objects.for_project(project).filter(pk=segment.pk).delete()


@transaction.atomic
def segment_add_customers(*, project: Project, segment: Segment, customers: Sequence[str]) -> int:
    """Add customers (ids or source_ids) to a static segment; returns how many were new members."""
    if segment.type != Segment.Type.STATIC:
        raise ValueError("Only a static segment takes customers by hand.")
    added = _add_members(project, segment, _resolve_customers(project, customers))
    _recount(project, segment)
    return added


@transaction.atomic
def segment_remove_customers(*, project: Project, segment: Segment, customers: Sequence[str]) -> int:
    if segment.type != Segment.Type.STATIC:
        raise ValueError("Only a static segment takes customers by hand.")
    customer_ids = _resolve_customers(project, customers)
    removed, _ = (
        SegmentMember.objects.for_project(project)
        .filter(segment=segment, customer_id__in=customer_ids)
        .delete()
    )
    _recount(project, segment)
    return removed


@transaction.atomic
def segment_keep_draft(*, project: Project, segment: Segment) -> Segment:
    """The distribution that made this draft segment was saved: the segment becomes a normal one."""
    Segment.objects.for_project(project).filter(pk=segment.pk).update(is_draft=False, draft_created_at=None)
    segment.is_draft, segment.draft_created_at = False, None
    return segment


def abandoned_drafts_purge(*, now=None) -> int:
    """Delete draft segments older than 24 hours, across projects (a beat sweep)."""
    cutoff = (now or timezone.now()) - DRAFT_LIFETIME
    deleted, _ = Segment.objects.unscoped().filter(is_draft=True, draft_created_at__lt=cutoff).delete()
    return deleted
