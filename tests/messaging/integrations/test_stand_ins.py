"""The sandbox stand-ins: our own app answers as Twilio, Mailchimp and Braze, checks the credentials
it gave out, records each call with its kind, and the sandbox inbox shows them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from messaging.delivery import messages_deliver
from messaging.models import ChannelProvider
from messaging.providers import channel_provider_create, seed_providers
from messaging.services import message_stream_open, message_template_create
from tests.factories import CustomerFactory
from tests.support.messaging import reload, rows_unchanged
from tests.support.providers import enqueue_on
from webhooks_out.models import SandboxDelivery
from webhooks_out.stand_ins import stand_in_base_url, stand_in_credentials


@pytest.mark.django_db(transaction=True)
def test_the_demo_providers_deliver_sms_mailchimp_and_braze_into_the_sandbox(project, live_server, owner):
    providers = seed_providers(project, base_url=live_server.url)
    assert [p.pk for p in seed_providers(project, base_url=live_server.url)] == [p.pk for p in providers]
    stream = message_stream_open(project=project, owner="distribution:distr_demo")
    ada = CustomerFactory(project=project, name="Ada", phone="+4915112345678", email="ada@example.com")
    templates = {
        "sms": {"body": "Hi {{customer.first_name}}, code {{voucher.code}}"},
        "mailchimp": {"merge_fields": {"CODE": "{{voucher.code}}"}},
        "braze": {"attributes": {"voucher_code": "{{voucher.code}}"}},
    }
    for channel, content in templates.items():
        template = message_template_create(project=project, channel=channel, content=content)
        [message] = enqueue_on(channel, project, stream, template, [ada])
        messages_deliver(project=project, channel=channel, message_ids=[message.pk])
        assert reload(message).state == "sent", reload(message).last_error

    received = {d.kind: d for d in SandboxDelivery.objects.for_project(project)}
    assert set(received) == {"sms", "mailchimp", "braze"}
    assert f"Body=Hi+Ada%2C+code+CODE-{ada.pk}" in received["sms"].body
    assert received["sms"].request_line.startswith("POST 2010-04-01/Accounts/AC")
    assert f'"CODE":"CODE-{ada.pk}"' in received["mailchimp"].body
    assert f'"voucher_code":"CODE-{ada.pk}"' in received["braze"].body
    assert all("Authorization" not in d.headers for d in received.values())  # credentials not kept

    client = Client()
    client.force_login(owner)
    page = client.get(reverse("sandbox_inbox")).content.decode()
    assert "<th>Kind</th>" in page
    assert all(kind in page for kind in ("sms", "mailchimp", "braze"))


@pytest.mark.django_db(transaction=True)
def test_the_stand_ins_refuse_other_credentials_so_the_connection_test_fails(project, live_server):
    project.allow_private_webhook_targets = True
    project.save(update_fields=["allow_private_webhook_targets"])
    good = stand_in_credentials(project, "sms")

    with rows_unchanged(ChannelProvider.objects.for_project(project)):
        with pytest.raises(ValidationError) as refused:
            channel_provider_create(
                project=project,
                kind="sms",
                settings={**good, "auth_token": "wrong"},
                base_url=stand_in_base_url(project, "sms", base_url=live_server.url),
            )
    assert "refused these credentials" in refused.value.message_dict["credentials"][0]

    provider = channel_provider_create(
        project=project,
        kind="sms",
        settings=good,
        base_url=stand_in_base_url(project, "sms", base_url=live_server.url),
    )
    assert provider.checked_at is not None
    assert not SandboxDelivery.objects.for_project(project).exists()  # a connection test is not a delivery


@pytest.mark.django_db
def test_another_projects_token_is_a_404(project, other_project):
    url = stand_in_base_url(project, "braze").replace(
        stand_in_base_url(project, "braze").split("/")[-2],
        stand_in_base_url(other_project, "braze").split("/")[-2],
    )
    path = url.split("://", 1)[1].split("/", 1)[1]

    response = Client().post(
        f"/{path}/users/track", b'{"attributes":[{"external_id":"x"}]}', content_type="application/json"
    )

    assert response.status_code == 404
    assert not SandboxDelivery.objects.unscoped().exists()
