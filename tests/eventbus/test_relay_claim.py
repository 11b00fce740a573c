"""claim_due_events(): the relay's sweep over every tenant's overdue, unfinished, unleased events."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from eventbus.dispatch import claim_due_events
from eventbus.models import DomainEvent
from eventbus.services import RELAY_GRACE, publish
from tests.eventbus.conftest import TEST_EVENT


@pytest.fixture(autouse=True)
def someone_listens(handlers):
    """An event nobody handles is complete as written; these tests are about events awaiting dispatch."""
    handlers.add("listener", "*")


pytestmark = [pytest.mark.unit, pytest.mark.django_db]

NOW = datetime.fromisoformat("2026-11-25T12:00:00+00:00")


def ago(**delta) -> datetime:
    return NOW - timedelta(**delta)


def ahead(**delta) -> datetime:
    return NOW + timedelta(**delta)


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


def event_with(project, **fields) -> DomainEvent:
    event = publish(project, TEST_EVENT)
    DomainEvent.objects.for_project(project).filter(pk=event.pk).update(**fields)
    return event


def test_only_overdue_unfinished_unleased_events_of_every_project_are_claimed_most_overdue_first(
    project, other_project, now
):
    second = event_with(project, next_dispatch_at=ago(seconds=5))
    first = event_with(other_project, next_dispatch_at=ago(minutes=2))
    due_exactly_now = event_with(project, next_dispatch_at=now)
    lease_expired = event_with(project, next_dispatch_at=ago(seconds=1), lease_until=ago(seconds=1))
    event_with(project, next_dispatch_at=ahead(seconds=1))  # not due yet
    event_with(project, next_dispatch_at=ago(hours=1), completed_at=ago(hours=1))  # done
    event_with(project, next_dispatch_at=ago(hours=1), lease_until=ahead(minutes=1))  # being dispatched

    assert claim_due_events() == [first.pk, second.pk, lease_expired.pk, due_exactly_now.pk]


def test_claimed_events_are_pushed_a_grace_period_forward_so_the_next_sweep_skips_them(
    project, time_machine, now
):
    overdue = event_with(project, next_dispatch_at=now - timedelta(minutes=1))
    pending = event_with(project, next_dispatch_at=now + timedelta(seconds=10))

    assert claim_due_events() == [overdue.pk]

    events = DomainEvent.objects.for_project(project)
    assert events.get(pk=overdue.pk).next_dispatch_at == now + RELAY_GRACE
    assert events.get(pk=pending.pk).next_dispatch_at == now + timedelta(seconds=10)
    assert claim_due_events() == []

    time_machine.shift(RELAY_GRACE)  # still not dispatched a grace period later: claimed again
    assert claim_due_events() == [pending.pk, overdue.pk]


def test_a_sweep_claims_at_most_its_limit(project, now):
    events = [event_with(project, next_dispatch_at=now - timedelta(seconds=10 - i)) for i in range(5)]

    assert claim_due_events(limit=2) == [events[0].pk, events[1].pk]
    assert claim_due_events(limit=2) == [events[2].pk, events[3].pk]
    assert claim_due_events(limit=2) == [events[4].pk]


def test_a_fresh_event_is_left_to_its_after_commit_dispatch_for_the_grace_period(project, time_machine, now):
    event = publish(project, TEST_EVENT)

    assert claim_due_events() == []
    time_machine.shift(RELAY_GRACE)
    assert claim_due_events() == [event.pk]
