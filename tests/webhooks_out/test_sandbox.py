"""The sandbox receiver: our own app records what arrives, and the dashboard shows it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from messaging.delivery import messages_deliver
from messaging.services import message_stream_open
from tests.support.messaging import customers, enqueue, webhook_template
from webhooks_out.models import SandboxDelivery
from webhooks_out.services import sandbox_token, sandbox_url, seed_webhooks


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)
def test_a_webhook_delivered_to_the_sandbox_is_recorded_with_the_endpoint_that_signed_it(
    project, live_server
):
    endpoint = seed_webhooks(project, base_url=live_server.url)
    assert seed_webhooks(project, base_url=live_server.url).pk == endpoint.pk  # idempotent
    project.refresh_from_db()
    assert project.allow_private_webhook_targets is True
    stream = message_stream_open(project=project, owner="distribution:distr_demo")
    template = webhook_template(project, endpoint)
    [message] = enqueue(project, stream, template, customers(project, 1))

    report = messages_deliver(project=project, channel="webhook", message_ids=[message.pk])

    assert report.sent == 1
    [delivery] = SandboxDelivery.objects.for_project(project)
    assert delivery.webhook_id == message.public_id
    assert delivery.verified_endpoint == endpoint.public_id
    assert f'"id":"{message.public_id}"' in delivery.body


@pytest.mark.django_db
def test_a_wrong_token_or_project_is_a_404_and_records_nothing(project, other_project):
    client = Client()
    url = reverse("sandbox_webhook_receive", args=[project.public_id, sandbox_token(other_project)])

    assert client.post(url, b"{}", content_type="application/json").status_code == 404
    assert (
        client.post(
            reverse("sandbox_webhook_receive", args=["proj_missing", "x"]),
            b"{}",
            content_type="application/json",
        ).status_code
        == 404
    )
    assert client.get(sandbox_url(project)).status_code == 405
    assert not SandboxDelivery.objects.unscoped().exists()


@pytest.mark.django_db
def test_the_inbox_lists_only_the_projects_own_deliveries(project, other_project, owner, outsider):
    client = Client()
    client.post(
        sandbox_url(project), b'{"mine":1}', content_type="application/json", HTTP_WEBHOOK_ID="msg_mine"
    )
    client.post(
        sandbox_url(other_project),
        b'{"theirs":1}',
        content_type="application/json",
        HTTP_WEBHOOK_ID="msg_theirs",
    )

    ours = signed_in(owner).get(reverse("sandbox_inbox"))
    theirs = signed_in(outsider).get(reverse("sandbox_inbox"))

    assert ours.status_code == 200
    assert b"msg_mine" in ours.content and b"msg_theirs" not in ours.content
    assert b"msg_theirs" in theirs.content and b"msg_mine" not in theirs.content
    assert sandbox_token(project).encode() in ours.content  # the page shows where to point an endpoint


@pytest.mark.django_db
def test_the_inbox_needs_a_login(client):
    response = client.get(reverse("sandbox_inbox"))

    assert response.status_code == 302 and "/login/" in response["Location"]
