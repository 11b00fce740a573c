"""SMS delivery's database cost: one statement per slice of `CLAIM_AT_ONCE` messages, plus a constant
per batch (the provider account and the batch's suppressions are each read once, not per message)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.delivery import CLAIM_AT_ONCE, messages_deliver
from tests.factories import CustomerFactory
from tests.support.providers import enqueue_on

pytestmark = pytest.mark.django_db


def statements_to_deliver(project, messages) -> int:
    with CaptureQueriesContext(connection) as queries:
        report = messages_deliver(project=project, channel="sms", message_ids=[m.pk for m in messages])
    assert report.sent == len(messages)
    return len(queries)


def test_sending_sms_costs_one_statement_per_slice_of_messages_plus_a_constant(
    local_project, stream, sms_provider, sms_template, receiver
):
    sizes = [1, 5, CLAIM_AT_ONCE, CLAIM_AT_ONCE + 1]
    people = [CustomerFactory(project=local_project, phone=f"+491510000{n:03d}") for n in range(sum(sizes))]
    batches, start = [], 0
    for size in sizes:
        batches.append(people[start : start + size])
        start += size
    statements_to_deliver(local_project, enqueue_on("sms", local_project, stream, sms_template, batches[0]))

    five, one_slice, two_slices = (
        statements_to_deliver(local_project, enqueue_on("sms", local_project, stream, sms_template, batch))
        for batch in batches[1:]
    )

    assert one_slice == five
    assert two_slices == one_slice + 1
    # Per batch: messages, templates, streams, the provider, suppressions, consents, the fair queue's
    # turn and the last outcomes' write: a constant, whatever the batch's size.
    assert five <= 12, five
