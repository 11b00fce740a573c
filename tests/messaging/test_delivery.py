"""Delivering webhook messages to a real local HTTP receiver, in this process (the worker and the
fault tests cover other processes). Time moves with time_machine; the receiver is a real server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from eventbus.models import DomainEvent
from messaging.delivery import messages_deliver
from messaging.models import Message, MessageAttempt, MessageStream
from messaging.services import message_stream_close, message_stream_pause, message_stream_resume
from tests.support.messaging import customers, enqueue, reload, webhook_template
from webhooks_out.signing import verify_standard, verify_voucherify

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SCHEDULE_MINUTES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 24 * 60]


def deliver(project, messages):
    return messages_deliver(project=project, channel="webhook", message_ids=[m.pk for m in messages])


def attempts_of(message):
    return list(
        MessageAttempt.objects.for_project(message.project)
        .filter(message=message)
        .order_by("number")
        .values_list("number", "outcome", "status_code", "is_final")
    )


def test_a_queued_message_arrives_once_in_voucherifys_envelope_signed_both_ways(
    local_project, stream, template, endpoint, receiver
):
    [ada] = customers(local_project, 1)
    [message] = enqueue(local_project, stream, template, [ada])

    report = deliver(local_project, [message])

    assert (report.claimed, report.sent) == (1, 1)
    [request] = receiver.requests
    body = request.json()
    assert body == {
        "id": message.public_id,
        "project_id": local_project.public_id,
        "created_at": body["created_at"],
        "type": "spring.code",
        "data": {
            "customer": {"id": ada.public_id, "name": ada.name},
            "code": f"CODE-{ada.pk}",
            "key": message.public_id,
        },
        "source": {"id": "distr_spring", "object": "distribution", "target_url": receiver.url},
        "event": {"type": "spring.code", "event_source": {"channel": "INTERNAL"}},
    }
    assert body["created_at"].endswith("Z") and len(body["created_at"]) == len("2026-03-02T09:00:00.000Z")
    # The receiver's side: both signatures verify over the exact bytes, with the endpoint's secret.
    assert verify_voucherify(endpoint.secret, request.body, request.headers["x-voucherify-signature"])
    assert verify_standard(endpoint.secret, request.headers, request.body)
    assert request.headers["webhook-id"] == message.public_id
    assert request.headers["x-shop"] == "acme"
    assert request.headers["content-type"] == "application/json"
    assert not verify_voucherify(
        endpoint.secret, request.body + b" ", request.headers["x-voucherify-signature"]
    )

    message = reload(message)
    assert (message.state, message.attempts, message.recovered) == (Message.State.SENT, 1, False)
    assert message.sent_at is not None and message.claimed_at is None
    assert attempts_of(message) == [(1, "sent", 200, False)]


def test_the_raw_payload_option_sends_the_design_at_the_root(local_project, stream, endpoint, receiver):
    template = webhook_template(
        local_project, endpoint, payload={"who": "{{customer.email}}", "points": 10}, raw_payload=True
    )
    [ada] = customers(local_project, 1)
    deliver(local_project, enqueue(local_project, stream, template, [ada]))

    assert receiver.requests[0].json() == {"who": ada.email, "points": 10}


def test_delivering_the_same_batch_twice_sends_each_message_once(local_project, stream, template, receiver):
    messages = enqueue(local_project, stream, template, customers(local_project, 3))

    first, second = deliver(local_project, messages), deliver(local_project, messages)

    assert (first.sent, second.claimed) == (3, 0)
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(m.public_id for m in messages)


def test_a_failing_receiver_is_retried_on_voucherifys_schedule_and_a_late_success_counts_as_recovered(
    local_project, stream, template, receiver
):
    [message] = enqueue(local_project, stream, template, customers(local_project, 1))
    receiver.fail_next(3, status=503)

    with time_machine.travel(T0, tick=False):
        deliver(local_project, [message])
    message = reload(message)
    assert (message.state, message.attempts) == (Message.State.DEFERRED, 1)
    assert message.next_attempt_at == T0 + timedelta(minutes=1)
    assert message.last_error.startswith("HTTP 503")

    # Not due yet: nothing is claimed and nothing is sent.
    with time_machine.travel(T0 + timedelta(seconds=59), tick=False):
        assert deliver(local_project, [message]).claimed == 0
    assert len(receiver.requests) == 1

    for retry, minutes in enumerate([1, 2], start=1):
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            deliver(local_project, [message])
        message = reload(message)
        next_minutes = SCHEDULE_MINUTES[retry]
        assert (message.state, message.attempts) == (Message.State.DEFERRED, retry + 1)
        assert message.next_attempt_at == T0 + timedelta(minutes=next_minutes)

    with time_machine.travel(T0 + timedelta(minutes=4), tick=False):
        deliver(local_project, [message])

    message = reload(message)
    assert (message.state, message.attempts, message.recovered) == (Message.State.SENT, 4, True)
    assert [r.status for r in receiver.requests] == [503, 503, 503, 200]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert attempts_of(message) == [
        (1, "transient", 503, False),
        (2, "transient", 503, False),
        (3, "transient", 503, False),
        (4, "sent", 200, False),
    ]


def test_after_the_last_retry_the_message_fails_the_endpoint_is_marked_failing_and_the_stream_pauses(
    local_project, stream, template, endpoint, receiver
):
    [message, held] = enqueue(local_project, stream, template, customers(local_project, 2))
    receiver.always(500)

    with time_machine.travel(T0, tick=False):
        deliver(local_project, [message])
    for minutes in SCHEDULE_MINUTES:
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            assert deliver(local_project, [message]).claimed == 1

    message = reload(message)
    assert (message.state, message.attempts) == (Message.State.FAILED, 13)
    assert [outcome for _, outcome, _, _ in attempts_of(message)] == ["transient"] * 13
    assert attempts_of(message)[-1][3] is True  # the final one
    endpoint.refresh_from_db()
    assert endpoint.is_failing and endpoint.failing_reason.startswith("HTTP 500")
    stream.refresh_from_db()
    assert stream.state == MessageStream.State.PAUSED
    assert stream.paused_reason.startswith("A webhook message failed after every retry: HTTP 500")
    events = DomainEvent.objects.for_project(local_project)
    assert list(events.filter(type="message.failed_permanently").values_list("refs", "data")) == [
        (
            {"message": message.public_id, "stream": stream.public_id},
            {"owner": "distribution:distr_spring", "channel": "webhook", "error": message.last_error},
        )
    ]
    assert events.get(type="message.stream.paused").data == {
        "owner": "distribution:distr_spring",
        "reason": stream.paused_reason,
    }
    # What the stream had not sent yet is held.
    assert deliver(local_project, [held]).claimed == 0
    assert reload(held).state == Message.State.QUEUED


def test_a_success_clears_the_endpoints_failing_flag(local_project, stream, template, endpoint, receiver):
    endpoint.is_failing, endpoint.failing_reason = True, "HTTP 500"
    endpoint.save()
    deliver(local_project, enqueue(local_project, stream, template, customers(local_project, 1)))

    endpoint.refresh_from_db()
    assert (endpoint.is_failing, endpoint.failing_reason) == (False, "")


def test_a_target_the_guard_forbids_fails_at_once_and_pauses_the_stream(
    local_project, stream, template, endpoint, receiver
):
    [message] = enqueue(local_project, stream, template, customers(local_project, 1))
    local_project.allow_private_webhook_targets = False  # the setting changed after the endpoint was saved
    local_project.save()

    deliver(local_project, [message])

    message = reload(message)
    assert message.state == Message.State.FAILED
    assert "loopback" in message.last_error
    assert attempts_of(message) == [(1, "permanent", None, True)]
    assert receiver.requests == []
    stream.refresh_from_db()
    assert stream.state == MessageStream.State.PAUSED


def test_a_deactivated_endpoint_fails_the_message_without_calling_it(
    local_project, stream, template, endpoint, receiver
):
    [message] = enqueue(local_project, stream, template, customers(local_project, 1))
    endpoint.is_active = False
    endpoint.save()

    deliver(local_project, [message])

    assert reload(message).last_error == f"The webhook endpoint {endpoint.public_id} is not active."
    assert receiver.requests == []


def test_a_receiver_that_hangs_past_the_timeout_is_a_transient_failure(
    local_project, stream, template, receiver, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    [message] = enqueue(local_project, stream, template, customers(local_project, 1))
    receiver.hang_next(1, seconds=2)

    deliver(local_project, [message])

    message = reload(message)
    assert message.state == Message.State.DEFERRED
    assert message.last_error == "No answer within 0.3 s."
    assert attempts_of(message) == [(1, "transient", None, False)]


def test_a_paused_stream_holds_its_messages_and_resuming_hands_them_back(
    local_project, stream, template, receiver, django_capture_on_commit_callbacks
):
    messages = enqueue(local_project, stream, template, customers(local_project, 2))
    message_stream_pause(project=local_project, stream=stream, reason="Paused by Ada")

    assert deliver(local_project, messages).claimed == 0
    assert receiver.requests == []
    assert {reload(m).state for m in messages} == {Message.State.QUEUED}

    with django_capture_on_commit_callbacks() as callbacks:
        assert message_stream_resume(project=local_project, stream=stream) == 2
    assert len(callbacks) == 1  # one delivery hand-over for the webhook channel
    assert deliver(local_project, messages).sent == 2


def test_a_closed_stream_skips_what_has_not_gone(local_project, stream, template, receiver):
    [sent, waiting] = enqueue(local_project, stream, template, customers(local_project, 2))
    deliver(local_project, [sent])

    assert message_stream_close(project=local_project, stream=stream, reason="distribution canceled") == 1

    assert deliver(local_project, [waiting]).claimed == 0
    assert (reload(sent).state, reload(waiting).state) == (Message.State.SENT, Message.State.SKIPPED)
    assert reload(waiting).last_error == "Canceled: distribution canceled"


def test_another_projects_delivery_cannot_touch_our_messages(
    local_project, other_project, stream, template, receiver
):
    messages = enqueue(local_project, stream, template, customers(local_project, 2))

    report = messages_deliver(project=other_project, channel="webhook", message_ids=[m.pk for m in messages])

    assert report.claimed == 0
    assert receiver.requests == []
