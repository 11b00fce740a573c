"""Another project's keys cannot preview with our customers or our template versions: 404, nothing
changes."""

from __future__ import annotations

import pytest

from messaging.email.starters import starter
from messaging.services import message_template_create
from tests.api.support import assert_error, nothing_changes
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ISOLATION_ROUTES = [("POST", "/v1/message-templates/preview")]


@pytest.fixture
def ours(project):
    ada = CustomerFactory(project=project, name="Ada Lovelace")
    template = message_template_create(project=project, channel="email", content=starter("simple"))
    return {"customer": ada.public_id, "template": template.public_id}


def test_an_outsider_cannot_preview_as_our_customer(outsider_api, ours):
    with nothing_changes():
        response = outsider_api.post(
            "/v1/message-templates/preview",
            {"channel": "email", "content": starter("simple"), "customer": ours["customer"]},
            format="json",
        )

    assert assert_error(response, 404, "not_found")["resource_type"] == "customer"


def test_an_outsider_cannot_preview_our_template(outsider_api, ours):
    with nothing_changes():
        response = outsider_api.post(
            "/v1/message-templates/preview", {"channel": "email", "template": ours["template"]}, format="json"
        )

    assert assert_error(response, 404, "not_found")["resource_type"] == "message_template"


def test_the_same_requests_with_our_keys_work(api, ours):
    response = api.post(
        "/v1/message-templates/preview",
        {
            "channel": "email",
            "template": ours["template"],
            "customer": ours["customer"],
            "carries_code": True,
        },
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "message_template_preview" and body["subject"] == "A code for you, Ada"
    assert body["customer_id"] == ours["customer"] and "SAMPLE-CODE-1234" in body["html"]
    assert body["lint"] == []
