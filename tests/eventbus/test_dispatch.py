"""dispatch(): handlers in order, each in its own transaction, idempotent per event, retried with backoff."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from customers.models import Customer
from eventbus.dispatch import LEASE, MAX_HANDLER_ATTEMPTS, dispatch
from eventbus.models import DomainEvent, HandlerRun
from eventbus.services import publish
from tests.eventbus.conftest import TEST_EVENT, Breakable, runs_of
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

NOW = datetime.fromisoformat("2026-11-25T12:00:00+00:00")
SUCCEEDED, FAILED, ABANDONED = (
    HandlerRun.Status.SUCCEEDED,
    HandlerRun.Status.FAILED,
    HandlerRun.Status.ABANDONED,
)


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


def reload(event: DomainEvent) -> DomainEvent:
    return DomainEvent.objects.for_project(event.project).get(pk=event.pk)


def test_handlers_run_in_order_of_their_order_then_name_and_the_event_completes(project, handlers, now):
    handlers.add("activity", order=50)
    handlers.add("distributions", order=20)
    handlers.add("segments", order=10)
    handlers.add("another_distribution", order=20)
    handlers.add("other_event_only", "test.other.event", order=1)
    event = publish(project, TEST_EVENT)

    assert dispatch(event.pk) is True

    assert handlers.names_called() == ["segments", "another_distribution", "distributions", "activity"]
    assert runs_of(event) == {
        "segments": (SUCCEEDED, 1, ""),
        "another_distribution": (SUCCEEDED, 1, ""),
        "distributions": (SUCCEEDED, 1, ""),
        "activity": (SUCCEEDED, 1, ""),
    }
    event = reload(event)
    assert (event.completed_at, event.lease_until, event.dispatch_attempts) == (now, None, 1)


def test_a_handler_for_every_event_runs_for_any_type(project, handlers, now):
    handlers.add("everything", "*")
    event = publish(project, "customer.custom_event")

    assert dispatch(event.pk) is True
    assert handlers.calls == [("tests.eventbus.everything", event.public_id)]


def test_a_failing_handler_is_recorded_failed_and_the_others_still_run_and_succeed(project, handlers, now):
    handlers.add("segments", order=10)
    handlers.add("distributions", order=20, effect=Breakable(ValueError("provider said no")))
    handlers.add("activity", order=50)
    event = publish(project, TEST_EVENT)

    assert dispatch(event.pk) is False

    assert handlers.names_called() == ["segments", "distributions", "activity"]
    assert runs_of(event) == {
        "segments": (SUCCEEDED, 1, ""),
        "distributions": (FAILED, 1, "ValueError('provider said no')"),
        "activity": (SUCCEEDED, 1, ""),
    }
    event = reload(event)
    assert event.completed_at is None
    assert event.lease_until is None
    assert event.next_dispatch_at == now + timedelta(seconds=15)  # the relay retries it after the backoff


def test_a_second_dispatch_after_the_fix_runs_only_the_handler_that_failed(project, handlers, now):
    broken = Breakable(RuntimeError("bug"))
    handlers.add("segments", order=10)
    handlers.add("distributions", order=20, effect=broken)
    handlers.add("activity", order=50)
    event = publish(project, TEST_EVENT)
    assert dispatch(event.pk) is False

    broken.fix()
    assert dispatch(event.pk) is True

    assert handlers.names_called() == ["segments", "distributions", "activity", "distributions"]
    assert runs_of(event) == {
        "segments": (SUCCEEDED, 1, ""),
        "distributions": (SUCCEEDED, 2, ""),
        "activity": (SUCCEEDED, 1, ""),
    }
    event = reload(event)
    assert (event.completed_at, event.dispatch_attempts) == (now, 2)


def test_a_completed_event_delivered_again_runs_no_handler(project, handlers, now):
    handlers.add("segments")
    event = publish(project, TEST_EVENT)
    assert dispatch(event.pk) is True

    assert dispatch(event.pk) is False

    assert handlers.count("segments") == 1
    assert reload(event).dispatch_attempts == 1


def test_a_handler_failing_every_time_is_abandoned_after_max_attempts_with_growing_backoff(
    project, handlers, time_machine, now
):
    handlers.add("segments", order=10)
    handlers.add("flaky_integration", order=20, effect=Breakable(ConnectionError("refused")))
    event = publish(project, TEST_EVENT)

    backoffs = []
    for _ in range(MAX_HANDLER_ATTEMPTS - 1):
        started = timezone.now()
        assert dispatch(event.pk) is False
        backoffs.append((reload(event).next_dispatch_at - started).total_seconds())
        time_machine.shift(timedelta(hours=1))
    assert backoffs == [15, 30, 60, 120, 240, 480, 960]
    assert runs_of(event)["flaky_integration"] == (
        FAILED,
        MAX_HANDLER_ATTEMPTS - 1,
        "ConnectionError('refused')",
    )

    assert dispatch(event.pk) is True

    assert runs_of(event) == {
        "segments": (SUCCEEDED, 1, ""),
        "flaky_integration": (ABANDONED, MAX_HANDLER_ATTEMPTS, "ConnectionError('refused')"),
    }
    assert handlers.count("segments") == 1
    assert handlers.count("flaky_integration") == MAX_HANDLER_ATTEMPTS
    event = reload(event)
    assert event.completed_at is not None
    assert event.dispatch_attempts == MAX_HANDLER_ATTEMPTS
    assert dispatch(event.pk) is False  # an abandoned handler is not tried again
    assert handlers.count("flaky_integration") == MAX_HANDLER_ATTEMPTS


def test_a_failing_handlers_database_writes_roll_back_with_it_and_the_others_writes_stay(project, handlers):
    customer = CustomerFactory(project=project, name="Ada", metadata={})

    def tag_then_fail(event):
        Customer.objects.for_project(project).filter(pk=customer.pk).update(
            name="written by the failing handler"
        )
        raise RuntimeError("after writing")

    def tag(event):
        Customer.objects.for_project(project).filter(pk=customer.pk).update(
            metadata={"tagged_by": event.public_id}
        )

    handlers.add("failing_writer", order=10, effect=tag_then_fail)
    handlers.add("writer", order=20, effect=tag)
    event = publish(project, TEST_EVENT, customer=customer)

    assert dispatch(event.pk) is False

    customer.refresh_from_db()
    assert (customer.name, customer.metadata) == ("Ada", {"tagged_by": event.public_id})
    assert runs_of(event) == {
        "failing_writer": (FAILED, 1, "RuntimeError('after writing')"),
        "writer": (SUCCEEDED, 1, ""),
    }


def test_a_delivery_while_another_dispatch_holds_the_lease_runs_nothing(project, handlers, now):
    nested_results = []

    def deliver_again(event):
        nested_results.append(dispatch(event.pk))

    handlers.add("first", order=10, effect=deliver_again)
    handlers.add("second", order=20)
    event = publish(project, TEST_EVENT)

    assert dispatch(event.pk) is True

    assert nested_results == [False]
    assert handlers.names_called() == ["first", "second"]
    assert reload(event).dispatch_attempts == 1


def test_a_held_lease_refuses_dispatch_until_it_expires(project, handlers, time_machine, now):
    handlers.add("segments")
    event = publish(project, TEST_EVENT)
    DomainEvent.objects.for_project(project).filter(pk=event.pk).update(lease_until=now + LEASE)

    assert dispatch(event.pk) is False
    assert handlers.calls == []

    time_machine.shift(LEASE + timedelta(seconds=1))  # the worker that held it died
    assert dispatch(event.pk) is True
    assert handlers.count("segments") == 1


def test_dispatching_an_unknown_event_id_does_nothing(project, handlers):
    handlers.add("segments")

    assert dispatch(987654321) is False
    assert handlers.calls == []


def test_events_published_by_a_failing_handler_roll_back_with_it(
    project, handlers, django_capture_on_commit_callbacks
):
    def publish_then_fail(event):
        publish(project, "test.follow_up.lost")
        raise RuntimeError("after publishing")

    handlers.add("failing_publisher", order=10, effect=publish_then_fail)
    handlers.add("publisher", order=20, effect=lambda event: publish(project, "test.follow_up.kept"))
    handlers.add("follow_up_listener", ["test.follow_up.lost", "test.follow_up.kept"])
    event = publish(project, TEST_EVENT)

    with django_capture_on_commit_callbacks() as callbacks:
        assert dispatch(event.pk) is False

    types = DomainEvent.objects.for_project(project).order_by("pk").values_list("type", flat=True)
    assert list(types) == [TEST_EVENT, "test.follow_up.kept"]
    assert len(callbacks) == 1  # only the kept follow-up is handed to the broker, after its handler commits


def test_an_event_nobody_handles_is_complete_as_written_and_never_enqueued(
    project, handlers, django_capture_on_commit_callbacks
):
    handlers.add("listener")  # handles TEST_EVENT only

    with django_capture_on_commit_callbacks() as callbacks:
        handled = publish(project, TEST_EVENT)
        unhandled = publish(project, "test.nobody.listens")

    assert DomainEvent.objects.for_project(project).get(pk=handled.pk).completed_at is None
    assert DomainEvent.objects.for_project(project).get(pk=unhandled.pk).completed_at is not None
    assert len(callbacks) == 1  # only the handled event goes to the broker
