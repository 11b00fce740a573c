"""After a final failure: replaying what failed, and the counts analytics read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from messaging.delivery import messages_deliver
from messaging.models import Message, MessageStream
from messaging.selectors import delivery_series, message_counts
from messaging.services import message_stream_close, message_stream_replay_failed, message_stream_resume
from tests.support.messaging import customers, enqueue, reload

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def deliver(project, messages):
    return messages_deliver(project=project, channel="webhook", message_ids=[m.pk for m in messages])


def test_a_retry_that_runs_late_keeps_to_the_schedule_counted_from_the_first_attempt(
    local_project, stream, template, receiver
):
    [message] = enqueue(local_project, stream, template, customers(local_project, 1))
    receiver.always(500)
    with time_machine.travel(T0, tick=False):
        deliver(local_project, [message])

    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):  # due at 1 minute, run at 5
        deliver(local_project, [message])

    assert reload(message).next_attempt_at == T0 + timedelta(minutes=8)


def test_replaying_after_the_endpoint_recovers_sends_what_failed_and_counts_it_recovered(
    local_project, stream, template, endpoint, receiver, django_capture_on_commit_callbacks
):
    [failed, held] = enqueue(local_project, stream, template, customers(local_project, 2))
    local_project.allow_private_webhook_targets = False  # the target is refused: a final failure at once
    local_project.save()
    with time_machine.travel(T0, tick=False):
        deliver(local_project, [failed])
    assert reload(failed).state == Message.State.FAILED
    stream.refresh_from_db()
    assert stream.state == MessageStream.State.PAUSED
    local_project.allow_private_webhook_targets = True  # fixed
    local_project.save()

    with django_capture_on_commit_callbacks():
        assert message_stream_replay_failed(project=local_project, stream=stream) == 1
        assert message_stream_resume(project=local_project, stream=stream) == 2
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        deliver(local_project, [failed, held])

    failed, held = reload(failed), reload(held)
    assert (failed.state, failed.attempts, failed.recovered) == ("sent", 2, True)
    assert (held.state, held.attempts, held.recovered) == ("sent", 1, False)
    assert message_counts(project=local_project, stream=stream) == {"webhook": {"sent": 2, "recovered": 1}}
    series = delivery_series(project=local_project, stream=stream, since=T0, until=T0 + timedelta(days=1))
    assert [
        (row["bucket"], row["channel"], row["sent"], row["failed"], row["recovered"]) for row in series
    ] == [
        (T0, "webhook", 2, 1, 1)  # one hour: the failure at 9:00, both sends at 9:30
    ]


def test_a_closed_stream_takes_no_new_messages(local_project, stream, template):
    message_stream_close(project=local_project, stream=stream, reason="archived")

    with pytest.raises(ValueError, match="is closed"):
        enqueue(local_project, stream, template, customers(local_project, 1))
