"""Real-time membership: the events of a customer's orders, profile and custom events re-check them
against every filter segment, through the real event bus dispatch, and announce what changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from customers.events import custom_event_track
from customers.orders import order_update, order_upsert
from customers.services import customer_update, customer_upsert
from eventbus.dispatch import dispatch
from eventbus.models import DomainEvent
from segments import sync
from segments.models import Segment, SegmentSyncJob
from segments.realtime import customer_recheck
from segments.services import segment_create
from tests.segments.support import make_customer, members, segment_events

pytestmark = pytest.mark.django_db

ENTERED, LEFT = "customer.segment.entered", "customer.segment.left"
BIG_SPENDERS = {"summary.orders.total_amount": {"conditions": {"$more_than": [10000]}}}


@pytest.fixture
def dispatch_pending(django_capture_on_commit_callbacks):
    """Run every handler of every undispatched event, as the `events` worker would, in order, and
    what they defer to after their commits (the segments' member counts)."""

    def run(project) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            _dispatch_pending(project)

    return run


def _dispatch_pending(project) -> None:
    for _ in range(10):
        pending = list(
            DomainEvent.objects.for_project(project)
            .filter(completed_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not pending:
            return
        for event_id in pending:
            assert dispatch(event_id), f"event {event_id} did not complete"
    pytest.fail("events kept coming")


def synced_segment(project, **fields) -> Segment:
    segment = segment_create(project=project, **fields)
    sync.sync_job_run(SegmentSyncJob.objects.for_project(project).get(segment=segment).pk)
    segment.refresh_from_db()
    return segment


def buy(project, source_id: str, amount: int, order_source_id: str):
    order, _ = order_upsert(
        project=project,
        fields={
            "source_id": order_source_id,
            "amount": amount,
            "status": "PAID",
            "customer": {"source_id": source_id},
        },
    )
    return order


def test_an_order_over_the_threshold_publishes_one_entered_and_its_cancelation_one_left(
    dispatch_pending, project
):
    make_customer(project, "ada")
    segment = synced_segment(project, name="Big spenders", type="auto-update", filter=BIG_SPENDERS)

    order = buy(project, "ada", 6000, "o1")
    dispatch_pending(project)
    assert members(project, segment) == set()
    second = buy(project, "ada", 6000, "o2")  # created + paid: two events, one change
    dispatch_pending(project)

    assert members(project, segment) == {"ada"}
    assert segment_events(project, ENTERED) == ["ada"]
    segment.refresh_from_db()
    assert segment.member_count == 1
    entered = DomainEvent.objects.for_project(project).get(type=ENTERED)
    paid = DomainEvent.objects.for_project(project).filter(type="customer.order.created").latest("pk")
    assert entered.cause == paid.cause  # the order's request caused the entry

    order_update(project=project, order=second, fields={"status": "CANCELED"})
    dispatch_pending(project)

    assert members(project, segment) == set()
    assert segment_events(project, LEFT) == ["ada"]
    assert segment_events(project, ENTERED) == ["ada"]
    segment.refresh_from_db()
    assert segment.member_count == 0
    assert order.customer.source_id == "ada"


def test_the_reentry_cooldown_suppresses_a_second_entered_while_it_lasts(dispatch_pending, project):
    make_customer(project, "ada")
    segment = synced_segment(
        project, name="Big spenders", type="auto-update", filter=BIG_SPENDERS, reentry_cooldown_seconds=3600
    )
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        order = buy(project, "ada", 20000, "o1")
        dispatch_pending(project)
        order_update(project=project, order=order, fields={"status": "CANCELED"})
        dispatch_pending(project)
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        order_update(project=project, order=order, fields={"status": "PAID"})  # flaps back within the hour
        dispatch_pending(project)

    assert members(project, segment) == {"ada"}
    assert segment_events(project, ENTERED) == ["ada"]
    assert segment_events(project, LEFT) == ["ada"]

    with time_machine.travel(start + timedelta(hours=1, minutes=31), tick=False):
        order_update(project=project, order=order, fields={"status": "CANCELED"})
        dispatch_pending(project)
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        order_update(project=project, order=order, fields={"status": "PAID"})  # 1.5 h after leaving
        dispatch_pending(project)

    assert segment_events(project, ENTERED) == ["ada", "ada"]
    assert segment_events(project, LEFT) == ["ada", "ada"]


def test_profile_changes_and_custom_events_move_customers_too(dispatch_pending, project):
    ada = make_customer(project, "ada")
    gold = synced_segment(
        project, name="Gold", type="auto-update", filter={"metadata.level": {"conditions": {"$is": ["gold"]}}}
    )
    carts = synced_segment(
        project,
        name="Cart abandoners",
        type="auto-update",
        filter={
            "events.cart_abandoned.count": {"conditions": {"$more_than": [1]}},
            "email": {"conditions": {"$has_value": []}},
        },
    )

    customer_update(
        project=project, customer=ada, fields={"metadata": {"level": "gold"}, "email": "ada@example.com"}
    )
    customer_upsert(
        project=project,
        fields={"source_id": "bob", "email": "bob@example.com", "metadata": {"level": "gold"}},
    )
    for _ in range(3):
        custom_event_track(project=project, name="cart_abandoned", customer_fields={"source_id": "ada"})
    dispatch_pending(project)

    assert members(project, gold) == {"ada", "bob"}
    assert members(project, carts) == {"ada"}
    assert segment_events(project, ENTERED, gold) == ["ada", "bob"]
    assert segment_events(project, ENTERED, carts) == ["ada"]


def test_passive_segments_and_segments_still_in_their_first_sync_change_silently(dispatch_pending, project):
    make_customer(project, "ada")
    passive = synced_segment(project, name="Passive", type="passive", filter=BIG_SPENDERS)
    baseline = segment_create(project=project, name="New", type="auto-update", filter=BIG_SPENDERS)

    buy(project, "ada", 20000, "o1")
    dispatch_pending(project)

    assert members(project, passive) == {"ada"}
    assert members(project, baseline) == {"ada"}
    assert segment_events(project, ENTERED) == []


def test_one_customer_is_rechecked_against_every_segment_in_a_fixed_number_of_queries(
    project, django_assert_num_queries
):
    ada = make_customer(project, "ada", orders_total_amount=50000, orders_count=2)
    for threshold in range(0, 50000, 2000):  # 25 segments, all matching already
        synced_segment(
            project,
            name=f"Over {threshold}",
            type="auto-update",
            filter={
                "summary.orders.total_amount": {"conditions": {"$more_than": [threshold]}},
                "events.visit.count": {"conditions": {"$less_than": [5]}, "window_days": 30},
            },
        )

    # The first re-check on a connection prepares the SELECT (a PREPARE inside a savepoint).
    customer_recheck(project=project, customer_id=ada.pk, cause=None)

    # The segments, the customer's re-check lock, then one SELECT of their memberships and all 25
    # filters on them (the prepared statement's EXECUTE).
    with django_assert_num_queries(3):
        customer_recheck(project=project, customer_id=ada.pk, cause=None)


def test_a_recheck_query_postgresql_cannot_prepare_runs_unprepared_in_the_same_transaction(project):
    from segments.realtime import _execute_prepared

    make_customer(project, "ada")
    with connection.cursor() as cursor:
        # PREPARE cannot tell the type of a bare `$1 IS NULL`; the failure stays in its savepoint.
        _execute_prepared(cursor, "SELECT %s IS NULL", [None])
        assert cursor.fetchone() == (True,)
        _execute_prepared(cursor, "SELECT %s IS NULL", [1])
        assert cursor.fetchone() == (False,)
        cursor.execute("SELECT count(*) FROM customers_customer WHERE source_id = 'ada'")
        assert cursor.fetchone() == (1,)


def test_a_deleted_customer_leaves_silently_and_the_counts_follow(dispatch_pending, project):
    from customers.services import customer_delete

    ada = make_customer(project, "ada", orders_total_amount=50000)
    make_customer(project, "bob", orders_total_amount=50000)
    segment = synced_segment(project, name="Big spenders", type="auto-update", filter=BIG_SPENDERS)
    vips = segment_create(project=project, name="VIPs", type="static", customers=["ada"])
    assert (segment.member_count, vips.member_count) == (2, 1)

    customer_delete(project=project, customer=ada)
    dispatch_pending(project)

    segment.refresh_from_db()
    vips.refresh_from_db()
    assert (segment.member_count, vips.member_count) == (1, 0)
    assert members(project, segment) == {"bob"}
    assert segment_events(project, LEFT) == []


def test_prepared_recheck_queries_beyond_the_limit_are_deallocated_and_prepared_again(monkeypatch):
    from segments import realtime

    monkeypatch.setattr(realtime, "_PREPARED_LIMIT", 1)
    with connection.cursor() as cursor:
        runs = [("SELECT %s::int + 1", 1, 2), ("SELECT %s::int + 2", 1, 3), ("SELECT %s::int + 1", 5, 6)]
        for sql, value, expected in runs:
            realtime._execute_prepared(cursor, sql, [value])
            assert cursor.fetchone() == (expected,)
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'segment_recheck_%%'")
        assert cursor.fetchone() == (1,)


def test_reaching_the_limit_deallocates_only_the_rechecks_own_statements(monkeypatch):
    from segments import realtime

    monkeypatch.setattr(realtime, "_PREPARED_LIMIT", 1)
    with connection.cursor() as cursor:
        cursor.execute("PREPARE someone_elses AS SELECT 41 + 1")
        realtime._execute_prepared(cursor, "SELECT %s::int + 1", [1])
        realtime._execute_prepared(cursor, "SELECT %s::int + 2", [1])  # over the limit
        assert cursor.fetchone() == (3,)
        cursor.execute("EXECUTE someone_elses")
        assert cursor.fetchone() == (42,)
        cursor.execute("DEALLOCATE someone_elses")


def test_a_recheck_statement_deallocated_by_other_code_fails_its_transaction_once_then_is_prepared_again():
    from segments import realtime

    sql = "SELECT %s::int * 2"
    with connection.cursor() as cursor:
        realtime._execute_prepared(cursor, sql, [2])
        assert cursor.fetchone() == (4,)
        cursor.execute("DEALLOCATE ALL")  # e.g. a pooler or another library on the same connection

        # Inside a transaction the lost statement takes the transaction with it ...
        with pytest.raises(DatabaseError), transaction.atomic():
            realtime._execute_prepared(cursor, sql, [3])
        # ... and the next one prepares it again instead of failing for the connection's lifetime.
        realtime._execute_prepared(cursor, sql, [5])
        assert cursor.fetchone() == (10,)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_deallocated_recheck_statement_is_prepared_again_and_run_at_once():
    from segments import realtime

    sql = "SELECT %s::int * 3"
    with connection.cursor() as cursor:
        realtime._execute_prepared(cursor, sql, [2])
        assert cursor.fetchone() == (6,)
        cursor.execute("DEALLOCATE ALL")

        realtime._execute_prepared(cursor, sql, [3])
        assert cursor.fetchone() == (9,)
