"""`POST /v1/message-templates/preview`: unsaved content rendered and linted, bad input refused."""

from __future__ import annotations

import pytest

from messaging.email.starters import starter
from messaging.models import MessageTemplate
from tests.api.support import assert_error, nothing_changes

pytestmark = pytest.mark.django_db

URL = "/v1/message-templates/preview"


def test_unsaved_content_is_rendered_with_a_sample_customer_and_linted(api, project):
    content = starter("simple")
    content["design"]["body"].append({"type": "text", "runs": [{"text": "{{ loyalty.tier }}"}]})

    with nothing_changes():
        response = api.post(
            URL,
            {
                "channel": "email",
                "content": content,
                "variables": {"loyalty.tier": "Gold"},
                "carries_code": True,
            },
            format="json",
        )

    assert response.status_code == 200
    body = response.json()
    assert body["subject"] == "A code for you, Ada" and "Gold" in body["text"] and body["customer_id"] is None
    assert body["html"].startswith("<!doctype html>")
    assert [(f["level"], f["code"]) for f in body["lint"]] == [("warning", "no_fallback")]
    assert not MessageTemplate.objects.for_project(project).exists()


def test_broken_content_is_refused_naming_the_block(api):
    content = starter("simple")
    content["design"]["body"].append({"type": "button", "label": "Go", "link": "javascript:alert(1)"})

    with nothing_changes():
        response = api.post(URL, {"channel": "email", "content": content}, format="json")

    error = assert_error(response, 400, "invalid_payload")
    assert "body[4].link" in error["details"] and "Unsafe link" in error["details"]


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "email"},
        {"channel": "sms", "content": {}},
        {"channel": "email", "content": {}, "template": "mtpl_x"},
        {"channel": "email", "content": {}, "surprise": 1},
    ],
)
def test_malformed_requests_are_refused(api, body):
    with nothing_changes():
        response = api.post(URL, body, format="json")

    assert_error(response, 400, "invalid_payload")
