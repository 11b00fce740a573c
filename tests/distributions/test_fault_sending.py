"""Fault: SIGKILL the worker (a `celery worker` subprocess on the distributions, events and webhook
queues) while a manual distribution to every customer is materialising and sending.

Every expected message key arrives at the receiver; a duplicate always repeats a key, and there are
never more duplicates than kills; no customer is given a second code and no code goes to two
customers. Beat is played by the test: the message sweep and the sending sweep, with the clock moved
past their thresholds.

CI sends to the issue's 2,000 customers (about 20 s on this 2-core machine);
DM_FAULT_CUSTOMERS=100000 runs it (and the Redis-restart one) at the issue's on-demand scale
(docs/benchmarks.md, "Fault runs")."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from campaigns.models import Publication
from config.celery import app
from customers.models import Customer
from distributions import services
from distributions.models import Distribution
from distributions.sending import distributions_sweep_sending, materialisation_running
from messaging.delivery import CLAIM_AT_ONCE
from messaging.models import Message
from messaging.sweeps import messages_sweep
from segments.services import segment_create
from tests.campaigns.factories import make_campaign
from tests.distributions.engine_support import create_and_send, make_due, messages_of, webhook_channel
from tests.factories import CustomerFactory
from tests.messaging.test_delivery_worker import WorkerProcess
from tests.support.messaging import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.fault, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("distributions", "delivery.webhook", "events")


def fault_customers(ci_size: int) -> int:
    """How many customers a fault test sends to: DM_FAULT_CUSTOMERS on demand, else its CI size."""
    return int(os.environ.get("DM_FAULT_CUSTOMERS") or ci_size)


TOTAL = fault_customers(2000)
# For deadlines that grow with the size: well below the slowest the one-thread worker delivered here
# (about 12 messages/s, on a machine busy with other test runs).
SLOWEST_MESSAGES_PER_SECOND = 5


def deadline(seconds: float, messages: int) -> float:
    """`seconds`, plus the time `messages` take at the slowest rate seen."""
    return seconds + messages / SLOWEST_MESSAGES_PER_SECOND


def everyone_gets_a_code(project, endpoint, total: int) -> Distribution:
    """A manual distribution, due now, publishing one code to each of `total` new customers by webhook."""
    people = [CustomerFactory.build(project=project, source_id=f"c{n:06d}") for n in range(total)]
    Customer.objects.bulk_create(people, batch_size=5000)  # 100,000 saves one by one take minutes
    segment = segment_create(
        project=project, name="Everyone", type="static", customers=[p.source_id for p in people]
    )
    campaign = make_campaign(project, codes_count=total + 10)
    distribution = create_and_send(
        project,
        {
            "name": "Everyone gets a code",
            "trigger": {"key": "manual"},
            "audience": {"type": "segment", "segment": segment.public_id},
            "action": {"key": "publish_codes", "params": {"campaign": campaign.public_id}},
            "channels": [webhook_channel(endpoint)],
        },
    )
    make_due(project, distribution)
    return distribution


def catchable(receiver, total: int) -> None:
    """Slow the receiver just enough that a small send is still going when the fault comes; a large
    one is caught anyway, and its own length is the time it takes."""
    receiver.slow_down(min(0.01, 3 / total))


def report(fault: str, total: int, keys: Counter, started: float) -> None:
    """One line for on-demand runs (shown with `pytest -s`): what arrived, and how long it took."""
    duplicates = sum(count - 1 for count in keys.values())
    print(
        f"\n{fault}: {total} customers, {len(keys)} message keys arrived, {sum(keys.values())} requests, "
        f"{duplicates} duplicates (each repeating its key), {time.monotonic() - started:.0f} s"
    )


def assert_each_customer_one_code(project, distribution: Distribution, total: int) -> None:
    publications = Publication.objects.for_project(project).filter(distribution_id=distribution.pk)
    assert publications.count() == total
    assert len(set(publications.values_list("customer_id", flat=True))) == total
    assert len(set(publications.values_list("voucher_id", flat=True))) == total


def purge() -> None:
    with app.connection_for_write() as broker:
        for queue in QUEUES:
            broker.default_channel.queue_purge(queue)


class SendingWorker(WorkerProcess):
    """The messaging fault test's worker process, consuming every queue a distribution's send uses."""

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
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", ",".join(QUEUES)]
        # One thread: at most one message is in flight (sent, not yet recorded) when the worker dies.
        command += ["-P", "threads", "-c", "1", "--without-mingle", "--without-gossip", "--without-heartbeat"]
        command += ["-l", "WARNING"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture
def worker_process(tmp_path):
    purge()
    worker = SendingWorker(tmp_path / "worker.log")
    yield worker
    worker.stop()
    purge()


def sent_count(project) -> int:
    return Message.objects.for_project(project).filter(state=Message.State.SENT).count()


def test_killing_the_worker_mid_send_loses_nothing_and_never_publishes_a_code_twice(
    local_project, endpoint, receiver, worker_process
):
    kills = 2
    started = time.monotonic()
    distribution = everyone_gets_a_code(local_project, endpoint, TOTAL)
    catchable(receiver, TOTAL)

    worker_process.start()
    # Beat claims it; the worker materialises and delivers.
    app.send_task("distributions.tasks.claim_due_distributions")
    for _ in range(kills):
        arrived = len(receiver.requests)
        receiver.wait_for(arrived + TOTAL // 5, timeout=deadline(90, TOTAL // 5))
        worker_process.kill()
        assert sent_count(local_project) < TOTAL, "the worker finished before it could be killed"
        # A materialisation the kill interrupted holds its lock until the server ends the session.
        wait_until(
            lambda: not materialisation_running(distribution), timeout=10, what="the dead run's lock to go"
        )
        # Past the stale-claim threshold from now: a large send's kills are minutes apart in real time.
        clock = timezone.now() + timedelta(minutes=3)
        with time_machine.travel(clock, tick=False):
            messages_sweep()  # the claims the dead worker held go back to the queue
            distributions_sweep_sending()  # an interrupted materialisation runs again
        worker_process.start()

    wait_until(
        lambda: sent_count(local_project) == TOTAL, timeout=deadline(120, TOTAL), what="every message sent"
    )
    with time_machine.travel(timezone.now() + timedelta(minutes=3), tick=False):
        distributions_sweep_sending()

    expected = set(messages_of(local_project, distribution).values_list("public_id", flat=True))
    keys = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert len(expected) == TOTAL
    assert set(keys) == expected
    # One worker thread: each kill can leave at most the slice it was sending unrecorded.
    assert sum(count - 1 for count in keys.values()) <= kills * CLAIM_AT_ONCE
    assert_each_customer_one_code(local_project, distribution, TOTAL)
    distribution.refresh_from_db()
    assert distribution.status == "sent"
    assert services.stream_of(local_project, distribution).state == "open"
    report(f"SIGKILL x {kills}", TOTAL, keys, started)
