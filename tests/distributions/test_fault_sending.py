"""Fault: SIGKILL the worker (a `celery worker` subprocess on the distributions, events and webhook
queues) while a manual distribution to a few hundred customers is materialising and sending.

Every expected message key arrives at the receiver; a duplicate always repeats a key, and there are
never more duplicates than kills; no customer is given a second code and no code goes to two
customers. Beat is played by the test: the message sweep and the sending sweep, with the clock moved
past their thresholds."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from campaigns.models import Publication
from config.celery import app
from distributions import services
from distributions.sending import distributions_sweep_sending
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
TOTAL = int(os.environ.get("DISTRIBUTION_FAULT_CUSTOMERS", "300"))


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
    people = [CustomerFactory(project=local_project, source_id=f"c{n:04d}") for n in range(TOTAL)]
    segment = segment_create(
        project=local_project, name="Everyone", type="static", customers=[p.source_id for p in people]
    )
    campaign = make_campaign(local_project, codes_count=TOTAL + 10)
    distribution = create_and_send(
        local_project,
        {
            "name": "Everyone gets a code",
            "trigger": {"key": "manual"},
            "audience": {"type": "segment", "segment": segment.public_id},
            "action": {"key": "publish_codes", "params": {"campaign": campaign.public_id}},
            "channels": [webhook_channel(endpoint)],
        },
    )
    make_due(local_project, distribution)
    receiver.slow_down(0.01)  # slow enough to be caught mid-send

    worker_process.start()
    # Beat claims it; the worker materialises and delivers.
    app.send_task("distributions.tasks.claim_due_distributions")
    clock = timezone.now()
    for _ in range(kills):
        arrived = len(receiver.requests)
        receiver.wait_for(arrived + TOTAL // 5, timeout=90)
        worker_process.kill()
        assert sent_count(local_project) < TOTAL, "the worker finished before it could be killed"
        clock += timedelta(minutes=3)
        with time_machine.travel(clock, tick=False):
            messages_sweep()  # the claims the dead worker held go back to the queue
            distributions_sweep_sending()  # an interrupted materialisation runs again
        worker_process.start()

    wait_until(lambda: sent_count(local_project) == TOTAL, timeout=120, what="every message sent")
    with time_machine.travel(clock + timedelta(minutes=3), tick=False):
        distributions_sweep_sending()

    expected = set(messages_of(local_project, distribution).values_list("public_id", flat=True))
    keys = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert len(expected) == TOTAL
    assert set(keys) == expected
    # One worker thread: each kill can leave at most the slice it was sending unrecorded.
    assert sum(count - 1 for count in keys.values()) <= kills * CLAIM_AT_ONCE
    publications = Publication.objects.for_project(local_project).filter(distribution_id=distribution.pk)
    assert publications.count() == TOTAL
    assert len(set(publications.values_list("customer_id", flat=True))) == TOTAL
    assert len(set(publications.values_list("voucher_id", flat=True))) == TOTAL
    distribution.refresh_from_db()
    assert distribution.status == "sent"
    assert services.stream_of(local_project, distribution).state == "open"
