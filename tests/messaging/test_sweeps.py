"""Beat's sweeps: due retries, stale claims and orphaned queued messages go back to delivery; a
paused stream's messages stay where they are. What was handed over is read from the broker side
(the tasks published), and delivering it reaches the receiver."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from celery.signals import before_task_publish
from django.db import connection
from django.utils import timezone

from messaging.delivery import messages_deliver
from messaging.fairness import STALLED_AFTER_SECONDS, fair_take
from messaging.models import Message
from messaging.services import message_stream_pause
from messaging.sweeps import messages_sweep
from tests.support.messaging import customers, enqueue, reload

pytestmark = pytest.mark.django_db


@pytest.fixture
def published():
    """(task name, args) of every task this process publishes."""
    tasks: list[tuple[str, list]] = []

    def record(sender=None, body=None, **kwargs):
        tasks.append((sender, list(body[0])))

    before_task_publish.connect(record, weak=False)
    yield tasks
    before_task_publish.disconnect(record)


def claim_and_die(message, *, at):
    """A worker claimed the message at `at` and died before recording an outcome."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE messaging_message SET state = 'sending', claimed_at = %s WHERE id = %s", [at, message.pk]
        )


def test_a_message_left_sending_past_twice_the_timeout_is_reclaimed_and_resent_with_its_key(
    local_project, stream, template, receiver, published
):
    [stale, recent] = enqueue(local_project, stream, template, customers(local_project, 2))
    now = timezone.now()
    claim_and_die(stale, at=now - timedelta(seconds=21))  # the webhook timeout is 10 s
    claim_and_die(recent, at=now - timedelta(seconds=5))  # maybe still being sent

    counts = messages_sweep()

    assert counts == {"due_retries": 0, "orphans": 0, "stale_claims": 1, "expired_held": 0}
    assert published == [("messaging.tasks.deliver_webhook", [local_project.pk, "webhook", [stale.pk]])]
    assert (reload(stale).state, reload(recent).state) == ("queued", "sending")
    messages_deliver(project=local_project, channel="webhook", message_ids=[stale.pk])
    assert [r.headers["webhook-id"] for r in receiver.requests] == [stale.public_id]
    assert reload(stale).attempts == 1  # the lost claim was not an attempt


def test_a_message_queued_for_over_a_minute_is_handed_over_again(local_project, stream, template, published):
    [orphan, fresh] = enqueue(local_project, stream, template, customers(local_project, 2))
    Message.objects.for_project(local_project).filter(pk=orphan.pk).update(
        queued_at=timezone.now() - timedelta(seconds=61)
    )

    assert messages_sweep()["orphans"] == 1

    assert published == [("messaging.tasks.deliver_webhook", [local_project.pk, "webhook", [orphan.pk]])]
    # Handed over again, it waits another minute before the next sweep would touch it.
    assert reload(orphan).queued_at > reload(fresh).queued_at
    assert messages_sweep()["orphans"] == 0


def test_messages_waiting_their_turn_in_a_moving_backlog_are_not_handed_over_again(
    local_project, stream, template, published, django_capture_on_commit_callbacks
):
    people = customers(local_project, 4)
    with django_capture_on_commit_callbacks(execute=True):  # handed over: two batches on the fair queue
        first = enqueue(local_project, stream, template, people[:2])
        waiting = enqueue(local_project, stream, template, people[2:], cause_key="manual:distr_summer")
    assert fair_take("webhook")[1] == [m.pk for m in first]  # a task took the first batch just now
    published.clear()
    Message.objects.for_project(local_project).update(queued_at=timezone.now() - timedelta(minutes=5))

    # The second batch still waits on the fair queue, which is moving: its messages are not lost.
    assert messages_sweep()["orphans"] == 0
    assert published == []
    assert {reload(m).state for m in first + waiting} == {"queued"}

    # Nothing taken for longer than the stall threshold: the waiting batch has no task left to take
    # it, and every old queued message is handed over again.
    with time_machine.travel(timezone.now() + timedelta(seconds=STALLED_AFTER_SECONDS + 1)):
        assert messages_sweep()["orphans"] == 4
    assert published == [
        (
            "messaging.tasks.deliver_webhook",
            [local_project.pk, "webhook", sorted(m.pk for m in first + waiting)],
        )
    ]


def test_due_retries_go_back_to_the_queue_and_later_ones_wait(
    local_project, stream, template, receiver, published
):
    [due, later] = enqueue(local_project, stream, template, customers(local_project, 2))
    receiver.always(500)
    messages_deliver(project=local_project, channel="webhook", message_ids=[due.pk, later.pk])
    Message.objects.for_project(local_project).filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    receiver.always(200)

    with time_machine.travel(timezone.now() + timedelta(minutes=1, seconds=1)):
        assert messages_sweep()["due_retries"] == 1
        messages_deliver(project=local_project, channel="webhook", message_ids=[due.pk])

    assert published == [("messaging.tasks.deliver_webhook", [local_project.pk, "webhook", [due.pk]])]
    assert (reload(due).state, reload(due).recovered) == ("sent", True)
    assert reload(later).state == "deferred"


def test_a_paused_streams_messages_are_left_alone(local_project, stream, template, published):
    [orphan, stale] = enqueue(local_project, stream, template, customers(local_project, 2))
    Message.objects.for_project(local_project).filter(pk=orphan.pk).update(
        queued_at=timezone.now() - timedelta(minutes=5)
    )
    claim_and_die(stale, at=timezone.now() - timedelta(minutes=5))
    message_stream_pause(project=local_project, stream=stream, reason="held")

    assert messages_sweep() == {"due_retries": 0, "orphans": 0, "stale_claims": 0, "expired_held": 0}
    assert published == []
