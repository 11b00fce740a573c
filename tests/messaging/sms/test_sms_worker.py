"""A real Celery worker consuming `delivery.sms` (and `delivery.integrations`) from real Redis
delivers a small batch to the local receiver, each message once under its own idempotency key."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import transaction

from messaging.models import Message
from messaging.services import message_template_create
from tests.factories import CustomerFactory
from tests.support.messaging import wait_until
from tests.support.providers import BRAZE_CREDENTIALS, enqueue_on, provider_at
from tests.support.workers import running_worker as shared_running_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUEUES = ["delivery.sms", "delivery.integrations"]


@contextmanager
def running_worker() -> Iterator[None]:
    with shared_running_worker(QUEUES, concurrency=2):
        yield


def test_a_real_worker_delivers_a_small_sms_and_braze_batch(
    local_project, stream, sms_provider, sms_template, receiver
):
    provider_at(local_project, receiver, "braze", BRAZE_CREDENTIALS)
    braze_template = message_template_create(
        project=local_project, channel="braze", content={"attributes": {"code": "{{voucher.code}}"}}
    )
    people = [CustomerFactory(project=local_project, phone=f"+49151000{n:04d}") for n in range(250)]
    with running_worker():
        with transaction.atomic():
            sms = enqueue_on("sms", local_project, stream, sms_template, people)
            braze = enqueue_on("braze", local_project, stream, braze_template, people[:20])
        receiver.wait_for(270, timeout=60)
        wait_until(
            lambda: (
                Counter(Message.objects.for_project(local_project).values_list("state", flat=True))
                == Counter(sent=270)
            ),
            what="every message recorded as sent",
        )

    keys = Counter(request.headers["idempotency-key"] for request in receiver.requests)
    assert keys == Counter({message.public_id: 1 for message in sms + braze})
    assert Counter(request.path.rsplit("/", 1)[-1] for request in receiver.requests) == Counter(
        {"Messages.json": 250, "track": 20}
    )
