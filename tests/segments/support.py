"""Helpers for segment tests: customers with order summaries and events, and member sets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from customers.models import Customer, CustomEvent
from eventbus.models import DomainEvent
from segments.filters import compile_filter
from segments.models import Segment, SegmentMember
from tenancy.ids import new_public_id

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def make_customer(project, source_id: str, **fields: Any) -> Customer:
    fields.setdefault("name", source_id.title())
    return Customer.objects.create(
        project=project, public_id=new_public_id("cust", 24), source_id=source_id, **fields
    )


def track(project, customer: Customer, name: str, at: datetime) -> CustomEvent:
    return CustomEvent.objects.create(
        project=project, public_id=new_public_id("evcus", 24), name=name, customer=customer, created_at=at
    )


def matching(project, filter: dict, *, now: datetime = NOW) -> set[str]:
    """The source ids the compiled filter selects, by the one SQL query."""
    compiled = compile_filter(filter, now=now)
    return set(Customer.objects.for_project(project).filter(compiled.q).values_list("source_id", flat=True))


def members(project, segment: Segment) -> set[str]:
    return set(
        SegmentMember.objects.for_project(project)
        .filter(segment=segment)
        .values_list("customer__source_id", flat=True)
    )


def segment_events(project, type: str, segment: Segment | None = None) -> list[str]:
    """Source ids of the customers of every `type` event (one per event, duplicates kept)."""
    events = DomainEvent.objects.for_project(project).filter(type=type)
    if segment is not None:
        events = events.filter(refs__segment=segment.public_id)
    return sorted(events.values_list("customer__source_id", flat=True))


def segment_state() -> dict[str, list]:
    from segments.models import SegmentExit, SegmentSyncJob

    return {
        "segments": list(Segment.objects.unscoped().order_by("pk").values()),
        "members": list(SegmentMember.objects.unscoped().order_by("pk").values()),
        "exits": list(SegmentExit.objects.unscoped().order_by("pk").values()),
        "jobs": list(SegmentSyncJob.objects.unscoped().order_by("pk").values()),
    }


class nothing_changes:  # noqa: N801  (used as `with nothing_changes():`, like tests.api.support's)
    """Then: no segment, member, exit, sync job, customer, event or key changed."""

    def __enter__(self):
        from tests.api.support import database_state

        self._state = database_state
        self.before = (database_state(), segment_state())

    def __exit__(self, *exc):
        if exc[0] is None:
            assert (self._state(), segment_state()) == self.before
        return False
