"""Email across processes: a real Celery worker consuming `delivery.email` from real Redis delivers
into the aiosmtpd sink, one SMTP session per delivery task."""

from __future__ import annotations

from collections import Counter

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import setup_logging
from django.db import transaction

from config.celery import app
from messaging.models import Message
from messaging.services import MessageRow, messages_enqueue
from tests.factories import CustomerFactory
from tests.support.messaging import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUEUE = "delivery.email"


def _leave_logging_alone(**kwargs) -> None:
    """A `setup_logging` receiver: its presence stops Celery from reconfiguring the root logger."""


def test_a_real_worker_delivers_email_batches_through_one_session_each(
    sender_project, email_stream, email_template, sink
):
    people = [CustomerFactory(project=sender_project) for _ in range(250)]  # two tasks: 200 + 50
    setup_logging.connect(_leave_logging_alone, weak=False)
    with app.connection_for_write() as broker:
        broker.default_channel.queue_purge(QUEUE)
    try:
        with start_worker(
            app, pool="threads", concurrency=1, queues=[QUEUE], perform_ping_check=False, shutdown_timeout=15
        ):
            with transaction.atomic():
                result = messages_enqueue(
                    project=sender_project,
                    stream=email_stream,
                    channel="email",
                    template=email_template,
                    rows=[MessageRow(p.pk, "manual:worker", {"voucher.code": f"W-{p.pk}"}) for p in people],
                )
            received = sink.wait_for(250, timeout=60)
            wait_until(
                lambda: (
                    Counter(Message.objects.for_project(sender_project).values_list("state", flat=True))
                    == Counter(sent=250)
                ),
                what="every email recorded as sent",
            )
    finally:
        setup_logging.disconnect(_leave_logging_alone)

    assert sink.sessions == 2
    messages = Message.objects.for_project(sender_project).filter(pk__in=result.queued_ids)
    assert Counter(str(email["Message-ID"]) for email in received) == Counter(
        {f"<{m.public_id}@acme.example>": 1 for m in messages}
    )
    codes = {str(email["To"]): email.get_body(("plain",)).get_content() for email in received}
    assert all(f"W-{p.pk}" in codes[p.email] for p in people)
