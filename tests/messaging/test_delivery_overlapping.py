"""Delivery outside a transaction writes outcomes from a thread and connection of its own while the
next messages go out, and claims the next slice ahead. These tests run delivery the way a worker
does (committed rows, no surrounding transaction) against a real receiver."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.delivery import CLAIM_AT_ONCE, messages_deliver
from messaging.models import Message, MessageAttempt, MessageStream
from tests.support.messaging import customers, enqueue

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def deliver(project, messages):
    return messages_deliver(project=project, channel="webhook", message_ids=[m.pk for m in messages])


def states(project, messages) -> Counter:
    return Counter(
        Message.objects.for_project(project)
        .filter(pk__in=[m.pk for m in messages])
        .values_list("state", flat=True)
    )


def test_several_slices_arrive_once_each_with_one_attempt_and_the_callers_statements_do_not_grow(
    local_project, stream, template, endpoint, receiver
):
    people = customers(local_project, 2 * CLAIM_AT_ONCE + 3 + 4 * CLAIM_AT_ONCE + 7)
    smaller = enqueue(local_project, stream, template, people[: 2 * CLAIM_AT_ONCE + 3])
    larger = enqueue(local_project, stream, template, people[2 * CLAIM_AT_ONCE + 3 :])

    with CaptureQueriesContext(connection) as smaller_queries:
        smaller_report = deliver(local_project, smaller)
    with CaptureQueriesContext(connection) as larger_queries:
        larger_report = deliver(local_project, larger)

    assert (smaller_report.claimed, smaller_report.sent) == (len(smaller), len(smaller))
    assert (larger_report.claimed, larger_report.sent) == (len(larger), len(larger))
    keys = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert keys == Counter({message.public_id: 1 for message in smaller + larger})
    assert states(local_project, smaller + larger) == Counter(sent=len(smaller) + len(larger))
    attempts = Counter(MessageAttempt.objects.for_project(local_project).values_list("message_id", "outcome"))
    assert attempts == Counter({(message.pk, "sent"): 1 for message in smaller + larger})
    # Claims and outcomes travel on the writer's connection: the caller's own statements are the
    # batch's constant reads, whatever the number of slices (the template version, immutable, is
    # read by the first batch only).
    assert len(larger_queries) <= len(smaller_queries), [q["sql"][:60] for q in larger_queries]
    assert not [q for q in larger_queries if "messaging_messagetemplate" in q["sql"]]


def test_a_final_failure_after_the_next_slice_was_claimed_pauses_the_stream_and_hands_back_the_rest(
    local_project, stream, template, endpoint, receiver
):
    messages = enqueue(local_project, stream, template, customers(local_project, CLAIM_AT_ONCE + 15))
    receiver.always(500)
    with time_machine.travel(T0, tick=False):
        assert deliver(local_project, messages).deferred == len(messages)
    # Past the last retry: the first 15 now succeed, the 16th fails for good, well after the
    # second slice was claimed ahead (at half the first).
    receiver.fail_next(15, status=200)
    arrived = len(receiver.requests)

    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        report = deliver(local_project, messages)

    assert (report.sent, report.failed) == (15, 1)
    assert len(receiver.requests) - arrived == 16
    stream.refresh_from_db()
    assert stream.state == MessageStream.State.PAUSED
    assert states(local_project, messages) == Counter(sent=15, failed=1, deferred=len(messages) - 16)
    held = Message.objects.for_project(local_project).filter(state=Message.State.DEFERRED)
    assert not held.exclude(claimed_at=None).exists()
    assert set(held.values_list("attempts", flat=True)) == {1}
