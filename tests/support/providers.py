"""Fixtures and helpers for the SMS and integration channels: a recording receiver standing in for
Twilio / Mailchimp / Braze, the project's provider accounts pointed at it, and `enqueue_on`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from messaging.models import ChannelProvider, Message, MessageTemplate
from messaging.providers import channel_provider_create
from messaging.services import MessageRow, message_template_create, messages_enqueue

SMS_CREDENTIALS = {
    "account_sid": "AC0123456789abcdef",
    "auth_token": "s3cret-token",
    "sender": "+15550001111",
}
MAILCHIMP_CREDENTIALS = {"api_key": "0123456789abcdef-us21", "list_id": "list42"}
BRAZE_CREDENTIALS = {"api_key": "braze-rest-key"}


def base_url(receiver) -> str:
    return receiver.url.removesuffix("/hooks")


def provider_at(project, receiver, kind: str, credentials: dict[str, str]) -> ChannelProvider:
    """The project's provider of `kind` at the receiver (its connection test is not counted)."""
    provider = channel_provider_create(
        project=project, kind=kind, settings=credentials, base_url=base_url(receiver)
    )
    receiver.requests.clear()
    return provider


@pytest.fixture
def sms_provider(local_project, receiver) -> ChannelProvider:
    return provider_at(local_project, receiver, "sms", SMS_CREDENTIALS)


@pytest.fixture
def sms_template(local_project) -> MessageTemplate:
    return message_template_create(
        project=local_project,
        channel="sms",
        content={"body": "Hi {{customer.first_name | there}}, your code is {{voucher.code}}."},
    )


def enqueue_on(
    channel: str,
    project,
    stream,
    template,
    people: Iterable,
    *,
    cause_key="manual:distr_spring",
    **extra: Any,
) -> list[Message]:
    result = messages_enqueue(
        project=project,
        stream=stream,
        channel=channel,
        template=template,
        rows=[
            MessageRow(
                customer_id=person.pk,
                cause_key=cause_key,
                variables={"voucher.code": f"CODE-{person.pk}", **extra},
            )
            for person in people
        ],
    )
    return list(Message.objects.for_project(project).filter(pk__in=result.queued_ids).order_by("pk"))
