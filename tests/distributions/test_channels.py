"""Save & Send turns each channel into a template version: a webhook URL becomes an endpoint (the
SSRF guard deciding), a payload naming an unknown variable is refused, and a refusal changes nothing."""

from __future__ import annotations

import pytest

from distributions import services
from distributions.services import DistributionRefused
from messaging.email.starters import starter
from messaging.models import MessageTemplate
from tests.distributions.support import nothing_changes
from webhooks_out.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def with_webhook(settings, template=None):
    fields = {"name": "Thanks", "trigger": {"key": "order_paid"}, "action": {"key": "plain_message"}}
    return {**fields, "channels": [{"kind": "webhook", "settings": settings, "template": template or {}}]}


def test_a_webhook_url_becomes_an_endpoint_and_the_template_names_it(project):
    draft = services.distribution_create(
        project=project, fields=with_webhook({"url": "https://93.184.216.34/in"})
    )

    services.distribution_send(project=project, distribution=draft)

    endpoint = WebhookEndpoint.objects.for_project(project).get()
    template = MessageTemplate.objects.for_project(project).get()
    assert endpoint.url == "https://93.184.216.34/in"
    assert template.content["endpoint"] == endpoint.public_id
    assert template.content["payload"]["customer"]["id"] == "{{customer.id}}"


def test_a_second_distribution_to_the_same_url_shares_its_endpoint(project):
    for _ in range(2):
        draft = services.distribution_create(
            project=project, fields=with_webhook({"url": "https://93.184.216.34/in"})
        )
        services.distribution_send(project=project, distribution=draft)

    assert WebhookEndpoint.objects.for_project(project).count() == 1


@pytest.mark.parametrize(
    ("settings", "template", "problem"),
    [
        (
            {"url": "http://127.0.0.1/hook"},
            {},
            "Property .channels[0].settings.url: The host 127.0.0.1 resolves to a private",
        ),
        (
            {"endpoint": "wh_missing"},
            {},
            "Property .channels[0].settings.endpoint: cannot find webhook endpoint wh_missing",
        ),
        (
            {"url": "https://93.184.216.34/in"},
            {"payload": {"who": "{{customer.password}}"}},
            "Property .channels[0].template.payload: Unknown variable {{customer.password}} at who.",
        ),
    ],
)
def test_save_and_send_refuses_a_channel_it_cannot_use_and_changes_nothing(
    project, settings, template, problem
):
    draft = services.distribution_create(project=project, fields=with_webhook(settings, template))

    with nothing_changes(), pytest.raises(DistributionRefused) as refused:
        services.distribution_send(project=project, distribution=draft)

    assert refused.value.key == "distribution_incomplete"
    assert problem in refused.value.details
    assert not WebhookEndpoint.objects.for_project(project).exists()
    assert not MessageTemplate.objects.for_project(project).exists()


def with_email(template):
    fields = {"name": "Thanks", "trigger": {"key": "order_paid"}, "action": {"key": "plain_message"}}
    return {**fields, "channels": [{"kind": "email", "template": template}]}


def test_an_email_designed_in_the_message_editor_is_sent_with_its_design(project):
    design = starter("simple")
    draft = services.distribution_create(project=project, fields=with_email(design))

    services.distribution_send(project=project, distribution=draft)

    template = MessageTemplate.objects.for_project(project).get()
    assert template.content["subject"] == design["subject"]
    assert "Here is your personal code:" in template.content["compiled"]["html"]  # compiled at save


def test_an_email_with_neither_a_body_nor_a_design_is_refused_naming_the_body(project):
    draft = services.distribution_create(project=project, fields=with_email({"subject": "Hi"}))

    with nothing_changes(), pytest.raises(DistributionRefused) as refused:
        services.distribution_send(project=project, distribution=draft)

    assert "Property .channels[0].template.body: is required" in refused.value.details
