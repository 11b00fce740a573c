"""Quiet hours on a stream, in the project's time zone: messages due inside them are deferred to the
window's end (checked again at delivery time) and go when the sweep hands them back."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from messaging.delivery import messages_deliver
from messaging.models import Message
from messaging.quiet_hours import message_stream_set_quiet_hours, quiet_until
from messaging.sweeps import messages_sweep
from tests.support.messaging import customers, enqueue, reload

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def at(hour, minute=0, day=10):
    return datetime(2026, 6, day, hour, minute, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("start", "end", "now", "expected"),
    [
        (time(22), time(8), at(23), at(8, day=11)),
        (time(22), time(8), at(3), at(8)),
        (time(22), time(8), at(8), None),
        (time(22), time(8), at(12), None),
        (time(12), time(14), at(13, 30), at(14)),
        (time(12), time(14), at(14), None),
        (None, None, at(13), None),
    ],
)
def test_the_window_and_its_end(start, end, now, expected):
    assert quiet_until(start=start, end=end, tz="Europe/Berlin", now=now) == expected


def test_a_window_needs_both_ends(local_project, stream):
    with pytest.raises(ValidationError):
        message_stream_set_quiet_hours(project=local_project, stream=stream, start=time(22), end=None)


def test_messages_due_in_quiet_hours_wait_for_the_end_and_then_go(local_project, stream, template, receiver):
    local_project.timezone = "Europe/Berlin"
    local_project.save(update_fields=["timezone"])
    with time_machine.travel(at(21), tick=False):
        messages = enqueue(local_project, stream, template, customers(local_project, 2))
    # Set after the messages were made: delivery checks the stream when it claims them.
    message_stream_set_quiet_hours(project=local_project, stream=stream, start=time(22), end=time(8))

    with time_machine.travel(at(23), tick=False):
        report = messages_deliver(
            project=local_project, channel="webhook", message_ids=[m.pk for m in messages]
        )
    assert (report.sent, report.deferred, report.quiet_hours) == (0, 2, 2)
    held = reload(messages[0])
    assert (held.state, held.next_attempt_at, held.attempts) == (Message.State.DEFERRED, at(8, day=11), 0)
    assert held.last_error.startswith("Quiet hours until")

    with time_machine.travel(at(7, 59, day=11), tick=False):
        assert messages_sweep()["due_retries"] == 0
    with time_machine.travel(at(8, day=11) + timedelta(seconds=1), tick=False):
        assert messages_sweep()["due_retries"] == 2
        report = messages_deliver(
            project=local_project, channel="webhook", message_ids=[m.pk for m in messages]
        )
    assert report.sent == 2
    sent = reload(messages[0])
    assert (sent.state, sent.last_error, sent.recovered) == (Message.State.SENT, "", False)
    receiver.wait_for(2)
