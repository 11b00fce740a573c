"""A calling thread keeps its outcome writer's connection across batches, reopens it when it broke
while idle, and lets it go when idle. Real PostgreSQL connections: the writer's backend is found in
`pg_stat_activity` by the prepared statements it runs, and terminated with `pg_terminate_backend`."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.db import connection, connections

from messaging import outcome_writer
from messaging.delivery import CLAIM_AT_ONCE, messages_deliver
from messaging.models import Message, MessageAttempt
from tests.support.messaging import customers, enqueue

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BATCH = 2 * CLAIM_AT_ONCE + 5  # several slices: delivered through the writer thread


def deliver(project, messages):
    return messages_deliver(project=project, channel="webhook", message_ids=[m.pk for m in messages])


def writer_backends() -> set[int]:
    """The backends of this database whose last statement was one of delivery's prepared ones."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND query LIKE %s",
            ["%EXECUTE delivery_%"],
        )
        return {pid for (pid,) in cursor.fetchall()}


def assert_delivered_and_recorded(project, messages, receiver) -> None:
    keys = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert all(keys[message.public_id] == 1 for message in messages)
    states = Counter(
        Message.objects.for_project(project)
        .filter(pk__in=[m.pk for m in messages])
        .values_list("state", flat=True)
    )
    assert states == Counter(sent=len(messages))
    attempts = MessageAttempt.objects.for_project(project).filter(message__in=messages)
    assert Counter(attempts.values_list("outcome", flat=True)) == Counter(sent=len(messages))


def deliver_batches(project, stream, template, count: int) -> list[list[Message]]:
    people = customers(project, count * BATCH)
    batches = [enqueue(project, stream, template, people[i * BATCH : (i + 1) * BATCH]) for i in range(count)]
    return batches


def test_the_writer_connection_is_kept_across_a_threads_batches(
    local_project, stream, template, endpoint, receiver
):
    first, second = deliver_batches(local_project, stream, template, 2)

    deliver(local_project, first)
    [backend] = writer_backends()
    deliver(local_project, second)

    assert writer_backends() == {backend}
    assert_delivered_and_recorded(local_project, first + second, receiver)


@pytest.mark.parametrize("health_checks", [True, False], ids=["health-checked", "retried"])
def test_a_writer_connection_terminated_while_idle_is_reopened_and_the_next_batch_delivers_and_records(
    local_project, stream, template, endpoint, receiver, monkeypatch, health_checks
):
    # Without Django's health check, the first round trip fails on the dead connection and is run
    # again on a new one; with it, the check notices first.
    monkeypatch.setitem(connections.settings["default"], "CONN_HEALTH_CHECKS", health_checks)
    first, second = deliver_batches(local_project, stream, template, 2)
    deliver(local_project, first)
    [backend] = writer_backends()

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    deadline = time.monotonic() + 10
    while backend in writer_backends():
        assert time.monotonic() < deadline, "the terminated backend did not go"
        time.sleep(0.05)
    report = deliver(local_project, second)

    assert (report.claimed, report.sent) == (len(second), len(second))
    [reopened] = writer_backends()
    assert reopened != backend
    assert_delivered_and_recorded(local_project, first + second, receiver)


def test_an_idle_writer_closes_its_connection_and_the_next_batch_opens_another(
    local_project, stream, template, endpoint, receiver, monkeypatch
):
    monkeypatch.setattr(outcome_writer, "IDLE_SECONDS", 0.2)
    first, second = deliver_batches(local_project, stream, template, 2)
    deliver(local_project, first)
    [backend] = writer_backends()

    deadline = time.monotonic() + 10
    while writer_backends():
        assert time.monotonic() < deadline, "the idle writer kept its connection"
        time.sleep(0.05)
    deliver(local_project, second)

    assert len(writer_backends() - {backend}) == 1
    assert_delivered_and_recorded(local_project, first + second, receiver)


def test_closing_the_writer_threads_closes_their_connections(
    local_project, stream, template, endpoint, receiver
):
    [batch] = deliver_batches(local_project, stream, template, 1)
    deliver(local_project, batch)
    assert len(writer_backends()) == 1

    outcome_writer.close_writer_threads()

    deadline = time.monotonic() + 10
    while writer_backends():
        assert time.monotonic() < deadline, "a closed writer kept its connection"
        time.sleep(0.05)
