"""Operators read messages, attempts, streams, endpoints and sandbox deliveries in the admin."""

import pytest
from django.test import Client

from messaging.delivery import messages_deliver
from tests.factories import UserFactory
from tests.support.messaging import customers, enqueue

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "/admin/messaging/messagestream/",
    "/admin/messaging/message/",
    "/admin/messaging/messageattempt/",
    "/admin/messaging/customerconsent/",
    "/admin/messaging/messagelimitunlockrequest/",
    "/admin/webhooks_out/webhookendpoint/",
    "/admin/webhooks_out/sandboxdelivery/",
]


@pytest.fixture
def operator() -> Client:
    client = Client()
    client.force_login(UserFactory(username="operator@example.com", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("path", CHANGELISTS)
def test_a_superuser_reads_every_changelist(local_project, stream, template, receiver, operator, path):
    messages = enqueue(local_project, stream, template, customers(local_project, 1))
    messages_deliver(project=local_project, channel="webhook", message_ids=[messages[0].pk])

    response = operator.get(path)

    assert response.status_code == 200


def test_an_endpoints_secret_is_not_shown(local_project, endpoint, operator):
    response = operator.get(f"/admin/webhooks_out/webhookendpoint/{endpoint.pk}/change/")

    assert response.status_code == 200
    assert endpoint.secret.encode() not in response.content
