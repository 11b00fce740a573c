"""publish() and publish_many(): the outbox row is part of the caller's transaction."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from eventbus.cause import Cause, use_cause
from eventbus.models import DomainEvent
from eventbus.services import RELAY_GRACE, publish, publish_many
from tests.eventbus.conftest import TEST_EVENT
from tests.factories import CustomerFactory, UserFactory, make_api_key


@pytest.fixture(autouse=True)
def someone_listens(handlers):
    """An event nobody handles is complete as written; these tests are about events awaiting dispatch."""
    handlers.add("listener", "*")


pytestmark = [pytest.mark.unit, pytest.mark.django_db]


class Boom(Exception):
    pass


def test_an_event_published_in_a_transaction_that_rolls_back_leaves_no_event_and_enqueues_nothing(
    project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(Boom), transaction.atomic():
            publish(project, TEST_EVENT, data={"n": 1})
            raise Boom

    assert DomainEvent.objects.for_project(project).count() == 0
    assert callbacks == []


def test_a_committed_event_is_handed_over_by_exactly_one_after_commit_callback(
    project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            event = publish(project, TEST_EVENT)
            assert callbacks == []  # nothing is handed over before the commit

    assert len(callbacks) == 1
    assert list(DomainEvent.objects.for_project(project).values_list("pk", flat=True)) == [event.pk]


def test_the_events_of_one_transaction_are_handed_over_in_one_task(
    project, django_capture_on_commit_callbacks, monkeypatch
):
    from eventbus.tasks import dispatch_events

    sent = []
    monkeypatch.setattr(dispatch_events, "apply_async", lambda args, **kwargs: sent.append(args[0]))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            first = publish(project, TEST_EVENT, data={"n": 1})
            second = publish(project, TEST_EVENT, data={"n": 2})
            third = publish(project, TEST_EVENT, data={"n": 3})

    assert len(callbacks) == 1
    assert sent == [[first.pk, second.pk, third.pk]]


def test_an_event_of_a_savepoint_that_rolls_back_is_not_handed_over_with_the_others(
    project, django_capture_on_commit_callbacks, monkeypatch
):
    from eventbus.tasks import dispatch_events

    sent = []
    monkeypatch.setattr(dispatch_events, "apply_async", lambda args, **kwargs: sent.append(args[0]))
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            kept = publish(project, TEST_EVENT, data={"n": 1})
            with pytest.raises(Boom), transaction.atomic():
                publish(project, TEST_EVENT, data={"n": 2})
                raise Boom
            also_kept = publish(project, TEST_EVENT, data={"n": 3})

    assert [event_id for batch in sent for event_id in batch] == [kept.pk, also_kept.pk]
    assert set(DomainEvent.objects.for_project(project).values_list("pk", flat=True)) == {
        kept.pk,
        also_kept.pk,
    }


def test_publish_records_the_request_cause_and_refs_as_public_ids(project, time_machine):
    time_machine.move_to("2026-11-25 12:00:00+00:00", tick=False)
    customer = CustomerFactory(project=project)
    api_key, _ = make_api_key(project, name="Shop backend")
    token = use_cause(Cause.from_request(request_id="v-0123456789abcdef01", channel="API", api_key=api_key))
    try:
        event = publish(
            project,
            "customer.order.paid",
            customer=customer,
            refs={"customer": customer, "order": "ord_0001"},
            data={"amount": 2500},
        )
    finally:
        token.var.reset(token)

    event = DomainEvent.objects.for_project(project).get(pk=event.pk)
    assert event.type == "customer.order.paid"
    assert event.public_id.startswith("evt_")
    assert len(event.public_id) == len("evt_") + 24
    assert event.customer == customer
    assert event.refs == {"customer": customer.public_id, "order": "ord_0001"}
    assert event.data == {"amount": 2500}
    assert event.cause == {
        "channel": "API",
        "request_id": "v-0123456789abcdef01",
        "api_key": {"name": "Shop backend", "app_id": api_key.app_id},
    }
    assert event.created_at.isoformat() == "2026-11-25T12:00:00+00:00"
    assert event.next_dispatch_at == event.created_at + RELAY_GRACE
    assert (event.lease_until, event.completed_at, event.dispatch_attempts) == (None, None, 0)


def test_a_dashboard_user_is_recorded_as_the_cause(project):
    user = UserFactory(username="marketer@acme.test")
    token = use_cause(Cause.from_request(request_id="v-aaaaaaaaaaaaaaaaaa", channel="USER_PORTAL", user=user))
    try:
        event = publish(project, TEST_EVENT)
    finally:
        token.var.reset(token)

    assert DomainEvent.objects.for_project(project).get(pk=event.pk).cause == {
        "channel": "USER_PORTAL",
        "request_id": "v-aaaaaaaaaaaaaaaaaa",
        "user": {"id": user.pk, "email": "marketer@acme.test"},
    }


def test_an_explicit_cause_wins_over_the_current_one_and_background_work_is_internal(project):
    token = use_cause(Cause.from_request(request_id="v-bbbbbbbbbbbbbbbbbb", channel="API"))
    try:
        by_distribution = publish(project, TEST_EVENT, cause=Cause.distribution("distr_42"))
    finally:
        token.var.reset(token)
    background = publish(project, TEST_EVENT)

    assert DomainEvent.objects.for_project(project).get(pk=by_distribution.pk).cause == {
        "channel": "INTERNAL",
        "distribution_id": "distr_42",
    }
    assert DomainEvent.objects.for_project(project).get(pk=background.pk).cause == {"channel": "INTERNAL"}


def test_publish_many_inserts_n_events_in_one_statement_and_hands_them_over_in_one_callback(
    project, django_capture_on_commit_callbacks
):
    customers = CustomerFactory.create_batch(3, project=project)

    with django_capture_on_commit_callbacks() as callbacks, CaptureQueriesContext(connection) as queries:
        events = publish_many(
            project,
            "customer.segment.entered",
            [
                {"customer": c, "refs": {"segment": "seg_1", "customer": c}, "data": {"i": i}}
                for i, c in enumerate(customers)
            ],
            cause=Cause.distribution("distr_7"),
        )

    assert [q["sql"].split(" ", 2)[:2] for q in queries.captured_queries] == [["INSERT", "INTO"]]
    assert len(callbacks) == 1
    stored = list(DomainEvent.objects.for_project(project).order_by("pk"))
    assert [e.pk for e in stored] == [e.pk for e in events]
    assert [(e.type, e.customer_id, e.refs, e.data, e.cause) for e in stored] == [
        (
            "customer.segment.entered",
            c.pk,
            {"segment": "seg_1", "customer": c.public_id},
            {"i": i},
            {"channel": "INTERNAL", "distribution_id": "distr_7"},
        )
        for i, c in enumerate(customers)
    ]
    assert len({e.public_id for e in stored}) == 3


def test_publish_many_rolls_back_with_its_transaction(project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(Boom), transaction.atomic():
            publish_many(project, TEST_EVENT, [{"data": {"i": i}} for i in range(5)])
            raise Boom

    assert DomainEvent.objects.for_project(project).count() == 0
    assert callbacks == []
