"""Fixtures and helpers for messaging and webhook tests: a real receiver, a project allowed to call
it (it listens on 127.0.0.1), an endpoint, a stream and a webhook template, and `enqueue`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from messaging.models import Message, MessageStream, MessageTemplate
from messaging.services import (
    MessageRow,
    message_stream_open,
    message_template_create,
    messages_enqueue,
)
from tests.factories import CustomerFactory
from tests.support.receivers import RecordingReceiver
from webhooks_out.models import WebhookEndpoint
from webhooks_out.services import webhook_endpoint_create

DEFAULT_PAYLOAD = {
    "customer": {"id": "{{customer.id}}", "name": "{{customer.name | friend}}"},
    "code": "{{voucher.code}}",
    "key": "{{message.id}}",
}


@pytest.fixture
def receiver():
    with RecordingReceiver() as running:
        yield running


@pytest.fixture
def local_project(project):
    """Our project, allowed to call private addresses (the receiver is on 127.0.0.1)."""
    project.allow_private_webhook_targets = True
    project.save(update_fields=["allow_private_webhook_targets"])
    return project


@pytest.fixture
def endpoint(local_project, receiver) -> WebhookEndpoint:
    return webhook_endpoint_create(
        project=local_project, url=receiver.url, name="Shop", headers={"X-Shop": "acme"}
    )


@pytest.fixture
def stream(local_project) -> MessageStream:
    return message_stream_open(project=local_project, owner="distribution:distr_spring")


def webhook_template(project, endpoint, payload=None, **content: Any) -> MessageTemplate:
    return message_template_create(
        project=project,
        channel="webhook",
        content={
            "endpoint": endpoint.public_id,
            "event_name": "spring.code",
            "payload": DEFAULT_PAYLOAD if payload is None else payload,
            **content,
        },
    )


@pytest.fixture
def template(local_project, endpoint) -> MessageTemplate:
    return webhook_template(local_project, endpoint)


def customers(project, count: int) -> list:
    return [CustomerFactory(project=project) for _ in range(count)]


def enqueue(project, stream, template, people: Iterable, *, cause_key="manual:distr_spring") -> list[Message]:
    result = messages_enqueue(
        project=project,
        stream=stream,
        channel="webhook",
        template=template,
        rows=[
            MessageRow(
                customer_id=person.pk, cause_key=cause_key, variables={"voucher.code": f"CODE-{person.pk}"}
            )
            for person in people
        ],
    )
    return list(Message.objects.for_project(project).filter(pk__in=result.queued_ids).order_by("pk"))


def reload(message: Message) -> Message:
    return Message.objects.for_project(message.project).get(pk=message.pk)


def wait_until(predicate: Callable[[], Any], *, timeout: float = 20.0, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class rows_unchanged:  # noqa: N801 (used as a context manager, named for how it reads)
    """Then: none of these tables gained, lost or changed a row."""

    def __init__(self, *querysets) -> None:
        self.querysets = querysets

    def _state(self) -> list[list[dict]]:
        return [list(queryset.order_by("pk").values()) for queryset in self.querysets]

    def __enter__(self) -> None:
        self.before = self._state()

    def __exit__(self, exc_type, *exc_info) -> None:
        if exc_type is None:
            assert self._state() == self.before
