"""Delivery's database cost: one statement per slice of `CLAIM_AT_ONCE` messages (the previous slice's
outcomes and the next claim travel together), plus a constant per batch."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.delivery import CLAIM_AT_ONCE, messages_deliver
from messaging.selectors import attempt_activity
from tests.support.messaging import customers, enqueue

pytestmark = pytest.mark.django_db


def statements_to_deliver(project, messages) -> int:
    with CaptureQueriesContext(connection) as queries:
        report = messages_deliver(project=project, channel="webhook", message_ids=[m.pk for m in messages])
    assert report.sent == len(messages)
    return len(queries)


def test_delivering_costs_one_statement_per_slice_of_messages_plus_a_constant(
    local_project, stream, template, receiver
):
    people = customers(local_project, 1 + 5 + CLAIM_AT_ONCE + CLAIM_AT_ONCE + 1)
    statements_to_deliver(local_project, enqueue(local_project, stream, template, people[:1]))  # warm up
    slices = people[1:6], people[6 : 6 + CLAIM_AT_ONCE], people[6 + CLAIM_AT_ONCE :]

    five, one_slice, two_slices = (
        statements_to_deliver(local_project, enqueue(local_project, stream, template, batch))
        for batch in slices
    )

    assert one_slice == five
    assert two_slices == one_slice + 1
    # Per batch: the messages, their templates, streams, endpoints and customers' consents, the last
    # outcomes' own write.
    assert five <= 11, five


def test_the_activity_pages_newest_first_by_keyset(local_project, stream, template, receiver):
    messages = enqueue(local_project, stream, template, customers(local_project, 5))
    messages_deliver(project=local_project, channel="webhook", message_ids=[m.pk for m in messages])

    first = attempt_activity(project=local_project, stream=stream, limit=3)
    rest = attempt_activity(
        project=local_project, stream=stream, limit=3, before=(first[-1].attempted_at, first[-1].pk)
    )

    seen = [attempt.message.public_id for attempt in first + rest]
    assert sorted(seen) == sorted(m.public_id for m in messages) and len(seen) == 5
    keys = [(a.attempted_at, a.pk) for a in first + rest]
    assert keys == sorted(keys, reverse=True)
