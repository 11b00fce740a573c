"""The SMS channel against a real local HTTP receiver playing a Twilio-compatible API."""

from __future__ import annotations

import base64
import json
import socket
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import time_machine
from django.utils import timezone

from messaging.delivery import messages_deliver
from messaging.models import ChannelProvider, ChannelSuppression, MessageAttempt
from tests.factories import CustomerFactory
from tests.support.messaging import reload
from tests.support.providers import SMS_CREDENTIALS, enqueue_on

pytestmark = pytest.mark.django_db

OPTED_OUT = json.dumps(
    {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}
).encode()


def person(project, **fields):
    return CustomerFactory(project=project, **{"name": "Ada Lovelace", "phone": "+4915112345678", **fields})


def deliver(project, messages):
    return messages_deliver(project=project, channel="sms", message_ids=[m.pk for m in messages])


def test_an_sms_is_posted_as_a_form_with_basic_auth_and_the_message_id_as_idempotency_key(
    local_project, stream, sms_provider, sms_template, receiver
):
    ada = person(local_project)
    [message] = enqueue_on("sms", local_project, stream, sms_template, [ada])

    report = deliver(local_project, [message])

    assert report.sent == 1
    [request] = receiver.requests
    assert request.method == "POST"
    assert request.path == "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body.decode()) == {
        "To": ["+4915112345678"],
        "From": ["+15550001111"],
        "Body": [f"Hi Ada, your code is CODE-{ada.pk}."],
    }
    user, _, password = (
        base64.b64decode(request.headers["authorization"].removeprefix("Basic ")).decode().partition(":")
    )
    assert (user, password) == (SMS_CREDENTIALS["account_sid"], SMS_CREDENTIALS["auth_token"])
    assert request.headers["idempotency-key"] == message.public_id
    assert request.headers["i-twilio-idempotency-token"] == message.public_id
    assert reload(message).state == "sent"


def test_a_5xx_is_retried_later_and_the_message_counts_as_recovered(
    local_project, stream, sms_provider, sms_template, receiver
):
    receiver.fail_next(1, status=503)
    [message] = enqueue_on("sms", local_project, stream, sms_template, [person(local_project)])

    first = deliver(local_project, [message])
    deferred = reload(message)
    assert first.deferred == 1 and deferred.state == "deferred"
    with time_machine.travel(deferred.next_attempt_at + timedelta(seconds=1)):
        second = deliver(local_project, [message])

    assert second.sent == 1
    sent = reload(message)
    assert sent.state == "sent" and sent.recovered is True
    assert [r.status for r in receiver.requests] == [503, 200]
    assert list(
        MessageAttempt.objects.for_project(local_project)
        .order_by("number")
        .values_list("outcome", "status_code")
    ) == [("transient", 503), ("sent", 200)]


@pytest.mark.parametrize("status", [429, 500, 502])
def test_429_and_5xx_are_transient(local_project, stream, sms_provider, sms_template, receiver, status):
    receiver.fail_next(1, status=status)
    [message] = enqueue_on("sms", local_project, stream, sms_template, [person(local_project)])

    assert deliver(local_project, [message]).deferred == 1


def test_a_4xx_is_permanent_and_not_retried(local_project, stream, sms_provider, sms_template, receiver):
    receiver.fail_next(1, status=400, body=b'{"code": 21211, "message": "Invalid To number", "status": 400}')
    [message] = enqueue_on("sms", local_project, stream, sms_template, [person(local_project)])

    report = deliver(local_project, [message])
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        again = deliver(local_project, [message])

    failed = reload(message)
    assert (report.failed, again.claimed) == (1, 0)
    assert failed.state == "failed" and "21211" in failed.last_error and failed.next_attempt_at is None
    assert len(receiver.requests) == 1
    assert not ChannelSuppression.objects.for_project(local_project).exists()


def test_an_opted_out_number_suppresses_the_customers_sms_and_later_sms_are_skipped(
    local_project, stream, sms_provider, sms_template, receiver
):
    ada, bob = person(local_project), person(local_project, name="Bob", phone="+4915199999999")
    receiver.fail_next(1, status=400, body=OPTED_OUT)
    first = enqueue_on("sms", local_project, stream, sms_template, [ada])

    deliver(local_project, first)

    assert reload(first[0]).state == "failed"
    assert "opted out" in reload(first[0]).last_error
    [suppression] = ChannelSuppression.objects.for_project(local_project)
    assert (suppression.customer_id, suppression.channel, suppression.reason) == (ada.pk, "sms", "opted_out")

    later = enqueue_on(
        "sms", local_project, stream, sms_template, [ada, bob], cause_key="manual:distr_summer"
    )
    report = deliver(local_project, later)

    assert (report.skipped, report.sent) == (1, 1)
    skipped = reload(later[0])
    assert (
        skipped.state == "skipped"
        and skipped.last_error == "The customer's sms channel is suppressed (opted_out)."
    )
    assert len(receiver.requests) == 2  # the opted-out answer, then Bob's message only


def test_a_customer_without_a_phone_is_skipped_with_the_reason(
    local_project, stream, sms_provider, sms_template, receiver
):
    [message] = enqueue_on("sms", local_project, stream, sms_template, [person(local_project, phone=None)])

    report = deliver(local_project, [message])

    assert report.skipped == 1
    assert reload(message).last_error == "The customer has no phone number."
    assert receiver.requests == []


def test_without_an_sms_provider_the_message_fails_with_the_reason(
    local_project, stream, sms_template, receiver
):
    [message] = enqueue_on("sms", local_project, stream, sms_template, [person(local_project)])

    deliver(local_project, [message])

    assert reload(message).last_error == "The project has no active SMS provider."
    assert receiver.requests == []


def test_no_answer_is_transient(local_project, stream, sms_provider, sms_template):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    ChannelProvider.objects.for_project(local_project).filter(pk=sms_provider.pk).update(
        base_url=f"http://127.0.0.1:{dead_port}"
    )
    [message] = enqueue_on("sms", local_project, stream, sms_template, [person(local_project)])

    report = deliver(local_project, [message])

    assert report.deferred == 1
    assert reload(message).last_error.startswith(("Connection failed", "No answer"))
