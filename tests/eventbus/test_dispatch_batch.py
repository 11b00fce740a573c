"""dispatch_batch(): a batch of events in a constant number of statements, with every guarantee of
dispatching them one at a time (tests/eventbus/test_dispatch.py): handler order per event, a
success recorded with its effects, one event's failure isolated from the others, leases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.events import custom_event_track
from customers.models import Customer
from eventbus.cause import Cause
from eventbus.dispatch import LEASE, dispatch_batch
from eventbus.models import DomainEvent, HandlerRun
from eventbus.services import publish
from messaging.models import Message
from segments import sync
from segments.models import SegmentMember, SegmentSyncJob
from segments.services import segment_create
from tests.distributions.engine_support import automatic, create_and_send
from tests.eventbus.conftest import TEST_EVENT, runs_of
from tests.factories import CustomerFactory
from tests.support.messaging import endpoint, local_project, receiver  # noqa: F401

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

NOW = datetime.fromisoformat("2026-11-25T12:00:00+00:00")
SUCCEEDED, FAILED = HandlerRun.Status.SUCCEEDED, HandlerRun.Status.FAILED

COUNT_EFFECT_SQL = """
UPDATE customers_customer
SET metadata = metadata || jsonb_build_object(%(key)s, coalesce((metadata ->> %(key)s)::int, 0) + 1)
WHERE id = %(customer)s
"""


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


def counting(key: str, *, fails_for: set[str] = frozenset()):
    """An effect counting, in the event's customer's metadata, how often `key`'s writes committed;
    it raises after writing for the customers named in `fails_for`."""

    def effect(event: DomainEvent) -> None:
        with connection.cursor() as cursor:
            cursor.execute(COUNT_EFFECT_SQL, {"key": key, "customer": event.customer_id})
        if event.customer.name in fails_for:
            raise RuntimeError(f"{key} refused {event.customer.name}")

    return effect


def committed_effects(project) -> dict[str, dict]:
    return dict(Customer.objects.for_project(project).values_list("name", "metadata"))


def reload(event: DomainEvent) -> DomainEvent:
    return DomainEvent.objects.for_project(event.project).get(pk=event.pk)


def test_one_events_failing_handler_is_retried_alone_while_the_rest_of_the_batch_completes(
    project, handlers, time_machine, now
):
    # Given three events, and a distributions handler that fails for Bob's
    failing = {"Bob"}
    handlers.add("segments", order=10, effect=counting("segments"))
    handlers.add("distributions", order=20, effect=counting("distributions", fails_for=failing))
    people = [CustomerFactory(project=project, name=name, metadata={}) for name in ("Ada", "Bob", "Cy")]
    ada, bob, cy = (publish(project, TEST_EVENT, customer=person) for person in people)

    # When they are dispatched as one batch
    assert dispatch_batch([ada.pk, bob.pk, cy.pk]) == 2

    # Then Ada's and Cy's events complete with both handlers' effects, Bob's keeps its segments work
    # and only the failing handler's writes for Bob are rolled back
    assert committed_effects(project) == {
        "Ada": {"segments": 1, "distributions": 1},
        "Bob": {"segments": 1},
        "Cy": {"segments": 1, "distributions": 1},
    }
    assert runs_of(bob) == {
        "segments": (SUCCEEDED, 1, ""),
        "distributions": (FAILED, 1, "RuntimeError('distributions refused Bob')"),
    }
    assert (
        runs_of(ada) == runs_of(cy) == {"segments": (SUCCEEDED, 1, ""), "distributions": (SUCCEEDED, 1, "")}
    )
    assert [(e.completed_at, e.lease_until) for e in map(reload, (ada, cy))] == [(now, None), (now, None)]
    bob = reload(bob)
    assert (bob.completed_at, bob.lease_until, bob.next_dispatch_at) == (
        None,
        None,
        now + timedelta(seconds=15),
    )

    # When the handler is fixed and the relay hands the same batch over again
    failing.clear()
    time_machine.shift(timedelta(seconds=15))
    assert dispatch_batch([ada.pk, bob.pk, cy.pk]) == 1

    # Then only Bob's failed handler ran again: no effect is applied twice
    assert committed_effects(project) == {
        "Ada": {"segments": 1, "distributions": 1},
        "Bob": {"segments": 1, "distributions": 1},
        "Cy": {"segments": 1, "distributions": 1},
    }
    assert runs_of(bob) == {"segments": (SUCCEEDED, 1, ""), "distributions": (SUCCEEDED, 2, "")}
    assert reload(bob).completed_at == now + timedelta(seconds=15)
    assert [reload(e).dispatch_attempts for e in (ada, bob, cy)] == [1, 2, 1]


def test_each_handler_runs_over_the_whole_batch_before_the_next_in_registry_order(project, handlers, now):
    handlers.add("activity", order=50)
    handlers.add("distributions", order=20)
    handlers.add("segments", order=10)
    first, second = publish(project, TEST_EVENT), publish(project, TEST_EVENT)

    assert dispatch_batch([second.pk, first.pk]) == 2

    assert handlers.calls == [
        ("tests.eventbus.segments", first.public_id),
        ("tests.eventbus.segments", second.public_id),
        ("tests.eventbus.distributions", first.public_id),
        ("tests.eventbus.distributions", second.public_id),
        ("tests.eventbus.activity", first.public_id),
        ("tests.eventbus.activity", second.public_id),
    ]


def test_a_batch_variant_gets_every_event_at_once_and_on_failure_the_handler_runs_per_event(
    project, handlers, now
):
    def refuse_any_batch_with_bob(events):
        if any(event.customer.name == "Bob" for event in events):
            raise RuntimeError("Bob spoils the batch")

    handlers.add("segments", order=10, batch_effect=refuse_any_batch_with_bob)
    ada_event, bob_event = (
        publish(project, TEST_EVENT, customer=CustomerFactory(project=project, name=name))
        for name in ("Ada", "Bob")
    )

    assert dispatch_batch([ada_event.pk, bob_event.pk]) == 2

    assert handlers.batches == [("tests.eventbus.segments", [ada_event.public_id, bob_event.public_id])]
    # the rolled-back batch is done again one event at a time, through the single-event handler
    assert handlers.calls == [
        ("tests.eventbus.segments", ada_event.public_id),
        ("tests.eventbus.segments", bob_event.public_id),
    ]
    assert runs_of(ada_event) == runs_of(bob_event) == {"segments": (SUCCEEDED, 1, "")}


def test_a_batch_mixing_two_projects_gives_each_handler_events_with_their_own_project(
    project, other_project, handlers, now
):
    seen: list[tuple[str, int, int]] = []
    handlers.add(
        "segments",
        batch_effect=lambda events: seen.extend((e.public_id, e.project_id, e.project.pk) for e in events),
    )
    ours = publish(project, TEST_EVENT, customer=CustomerFactory(project=project))
    theirs = publish(other_project, TEST_EVENT, customer=CustomerFactory(project=other_project))

    assert dispatch_batch([ours.pk, theirs.pk]) == 2

    assert seen == [
        (ours.public_id, project.pk, project.pk),
        (theirs.public_id, other_project.pk, other_project.pk),
    ]
    assert runs_of(ours) == {"segments": (SUCCEEDED, 1, "")}
    assert runs_of(theirs) == {"segments": (SUCCEEDED, 1, "")}
    assert set(HandlerRun.objects.for_project(project).values_list("event_id", flat=True)) == {ours.pk}


def test_the_real_segment_recheck_over_two_projects_keeps_each_customer_in_their_own_projects_segments(
    project, other_project, now, django_capture_on_commit_callbacks
):
    gold = {"metadata.level": {"conditions": {"$is": ["gold"]}}}
    our_segment = segment_create(project=project, name="Gold", type="auto-update", filter=gold)
    their_segment = segment_create(project=other_project, name="Gold", type="auto-update", filter=gold)
    ada = CustomerFactory(project=project, metadata={"level": "gold"})
    bob = CustomerFactory(project=other_project, metadata={"level": "gold"})
    cy = CustomerFactory(project=other_project, metadata={"level": "silver"})
    events = [publish(customer.project, "customer.updated", customer=customer) for customer in (ada, bob, cy)]

    with django_capture_on_commit_callbacks(execute=True):  # the member counts move after commit
        assert dispatch_batch([event.pk for event in events]) == 3

    members = set(SegmentMember.objects.unscoped().values_list("segment_id", "customer_id", "project_id"))
    assert members == {(our_segment.pk, ada.pk, project.pk), (their_segment.pk, bob.pk, other_project.pk)}
    our_segment.refresh_from_db()
    their_segment.refresh_from_db()
    assert (our_segment.member_count, their_segment.member_count) == (1, 1)


def test_the_batch_segment_recheck_announces_each_change_with_the_cause_of_that_customers_event(project, now):
    # Given a synced segment with Cy in it, and Ada and Bob now matching, each changed by a request
    gold = {"metadata.level": {"conditions": {"$is": ["gold"]}}}
    cy = CustomerFactory(project=project, metadata={"level": "gold"})
    segment = segment_create(project=project, name="Gold", type="auto-update", filter=gold)
    sync.sync_job_run(SegmentSyncJob.objects.for_project(project).get(segment=segment).pk)
    ada = CustomerFactory(project=project, metadata={"level": "gold"})
    bob = CustomerFactory(project=project, metadata={"level": "gold"})
    Customer.objects.for_project(project).filter(pk=cy.pk).update(metadata={"level": "silver"})
    causes = {ada: "req-ada", bob: "req-bob", cy: "req-cy"}
    events = [
        publish(
            project, "customer.updated", customer=customer, cause=Cause(channel="API", request_id=request)
        )
        for customer, request in causes.items()
    ]

    # When their events are dispatched as one batch
    assert dispatch_batch([event.pk for event in events]) == 3

    # Then each entry and exit is announced once, caused by that customer's own request
    announced = DomainEvent.objects.for_project(project).filter(type__startswith="customer.segment.")
    assert sorted((e.type, e.customer_id, e.cause["request_id"]) for e in announced) == sorted(
        [
            ("customer.segment.entered", ada.pk, "req-ada"),
            ("customer.segment.entered", bob.pk, "req-bob"),
            ("customer.segment.left", cy.pk, "req-cy"),
        ]
    )
    assert set(SegmentMember.objects.for_project(project).values_list("customer_id", flat=True)) == {
        ada.pk,
        bob.pk,
    }


def test_an_event_whose_lease_another_dispatch_holds_is_left_alone(project, handlers, now):
    handlers.add("segments")
    free, held = publish(project, TEST_EVENT), publish(project, TEST_EVENT)
    DomainEvent.objects.for_project(project).filter(pk=held.pk).update(lease_until=now + LEASE)

    assert dispatch_batch([free.pk, held.pk, 987654321]) == 1

    assert handlers.calls == [("tests.eventbus.segments", free.public_id)]
    held = reload(held)
    assert (held.completed_at, held.lease_until, held.dispatch_attempts) == (None, now + LEASE, 0)
    assert runs_of(held) == {}


def _dispatch_counting_statements(event_ids: list[int]) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert dispatch_batch(event_ids) == len(event_ids)
    return len(queries)


def test_statements_per_batch_do_not_grow_with_the_batch_of_custom_events_with_live_distribution(
    local_project,  # noqa: F811 (the fixtures imported above)
    endpoint,  # noqa: F811
):
    # Given the real handlers of a custom event: a segment re-check (order 10), a live automatic
    # distribution whose trigger matches (20) and loyalty earning rules (50)
    project = local_project
    segment_create(
        project=project,
        name="Gold",
        type="auto-update",
        filter={"metadata.level": {"conditions": {"$is": ["gold"]}}},
    )
    create_and_send(project, automatic("custom_event", endpoint, params={"event_name": "visited"}))

    def track(count: int) -> list[int]:
        for _ in range(count):
            customer = CustomerFactory(project=project, metadata={"level": "gold"})
            custom_event_track(
                project=project, name="visited", customer_fields={"source_id": customer.source_id}
            )
        return list(
            DomainEvent.objects.for_project(project)
            .filter(completed_at__isnull=True)
            .values_list("pk", flat=True)
        )

    # (the first batch also prepares the re-check's statement and opens the distribution's stream)
    _dispatch_counting_statements(track(2))

    # When batches of 5 and of 50 events are dispatched
    statements_for_5 = _dispatch_counting_statements(track(5))
    statements_for_50 = _dispatch_counting_statements(track(50))

    # Then both cost the same statements, and every event produced its customer's message
    assert statements_for_50 == statements_for_5
    assert statements_for_5 <= 35
    assert Message.objects.for_project(project).count() == 57
    assert SegmentMember.objects.for_project(project).count() == 57


def test_a_task_fills_its_batch_with_events_waiting_for_their_first_dispatch_only(project, handlers, now):
    # Given events still waiting for their first dispatch, one waiting for a retry, one leased
    handlers.add("segments", effect=counting("segments", fails_for={"Retried"}))
    names = ("Own", "Waiting", "Also waiting", "Retried", "Leased")
    own, waiting, also_waiting, retried, leased = (
        publish(project, TEST_EVENT, customer=CustomerFactory(project=project, name=name, metadata={}))
        for name in names
    )
    assert dispatch_batch([retried.pk]) == 0  # its handler failed: it waits for the relay's retry
    DomainEvent.objects.for_project(project).filter(pk=leased.pk).update(lease_until=now + LEASE)

    # When the task of one event runs with room for more
    assert dispatch_batch([own.pk], fill_up_to=10) == 3

    # Then it took along the events never dispatched, and left the retried and the leased ones alone
    assert [reload(e).completed_at is not None for e in (own, waiting, also_waiting, retried, leased)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert reload(retried).dispatch_attempts == 1

    # and the tasks of the events it took along find nothing left to do
    assert dispatch_batch([waiting.pk, also_waiting.pk], fill_up_to=10) == 0
    assert handlers.count("segments") == 4  # own, waiting, also waiting, and the retried one's failure
