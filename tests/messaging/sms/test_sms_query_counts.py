"""SMS delivery's database cost: one statement per message, plus a constant per batch (the provider
account and the batch's suppressions are each read once, not per message)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.delivery import messages_deliver
from tests.factories import CustomerFactory
from tests.support.providers import enqueue_on

pytestmark = pytest.mark.django_db


def statements_to_deliver(project, messages) -> int:
    with CaptureQueriesContext(connection) as queries:
        report = messages_deliver(project=project, channel="sms", message_ids=[m.pk for m in messages])
    assert report.sent == len(messages)
    return len(queries)


def test_sending_sms_costs_one_statement_per_message_plus_a_constant(
    local_project, stream, sms_provider, sms_template, receiver
):
    people = [CustomerFactory(project=local_project, phone=f"+4915100000{n:02d}") for n in range(16)]
    batches = [people[:1], people[1:6], people[6:]]
    statements_to_deliver(local_project, enqueue_on("sms", local_project, stream, sms_template, batches[0]))

    five = statements_to_deliver(
        local_project, enqueue_on("sms", local_project, stream, sms_template, batches[1])
    )
    ten = statements_to_deliver(
        local_project, enqueue_on("sms", local_project, stream, sms_template, batches[2])
    )

    assert ten - five == 5
    # Per batch: messages, templates, streams, the provider, suppressions, consents, the fair queue's
    # turn and the last outcome's write: a constant, whatever the batch's size.
    assert five - 5 <= 11, five
