"""The per-project, per-channel send rate (a token bucket in Redis): messages over it are deferred,
not failed, and go once the bucket has tokens again."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from messaging.delivery import RATE_REASON, messages_deliver
from messaging.limits import send_tokens_take
from messaging.models import Message, MessageAttempt
from messaging.sweeps import messages_sweep
from tests.factories import ProjectFactory
from tests.support.messaging import customers, enqueue, reload

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_per_second(settings):
    settings.MESSAGING_SEND_RATES = {"webhook": (2, 2)}


def test_messages_over_the_rate_are_deferred_then_sent(
    local_project, stream, template, receiver, two_per_second
):
    messages = enqueue(local_project, stream, template, customers(local_project, 5))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        report = messages_deliver(
            project=local_project, channel="webhook", message_ids=[m.pk for m in messages]
        )

    assert (report.sent, report.deferred, report.rate_limited, report.failed) == (2, 3, 3, 0)
    deferred = [reload(m) for m in messages[2:]]
    assert {m.state for m in deferred} == {Message.State.DEFERRED}
    assert all(start < m.next_attempt_at <= start + timedelta(seconds=1) for m in deferred)
    assert {m.last_error for m in deferred} == {RATE_REASON}
    # A deferral is not an attempt.
    assert not MessageAttempt.objects.for_project(local_project).filter(message__in=deferred).exists()

    with time_machine.travel(start + timedelta(seconds=2), tick=False):
        assert messages_sweep()["due_retries"] == 3
        report = messages_deliver(
            project=local_project, channel="webhook", message_ids=[m.pk for m in deferred]
        )
    assert (report.sent, report.rate_limited) == (2, 1)
    receiver.wait_for(4)


def test_the_bucket_is_per_project_and_channel(project, two_per_second):
    other = ProjectFactory()
    now = timezone.now()
    assert send_tokens_take(project, "webhook", 5, now)[0] == 2
    granted, wait = send_tokens_take(project, "webhook", 5, now)
    assert granted == 0 and timedelta(0) < wait <= timedelta(seconds=1)
    assert send_tokens_take(other, "webhook", 5, now)[0] == 2
    # A channel without a configured rate is not limited.
    assert send_tokens_take(project, "sms", 500, now) == (500, timedelta(0))
    assert send_tokens_take(project, "webhook", 5, now + timedelta(seconds=1))[0] == 2
