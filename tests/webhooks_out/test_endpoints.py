"""Endpoints: a secret each, validated custom headers, a failing flag that re-activation clears."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tests.support.messaging import rows_unchanged
from webhooks_out.models import WebhookEndpoint
from webhooks_out.services import (
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
    webhook_endpoints_mark_failing,
)

pytestmark = pytest.mark.django_db


def test_each_endpoint_gets_its_own_standard_webhooks_secret(local_project):
    first = webhook_endpoint_create(project=local_project, url="http://127.0.0.1:9/a")
    second = webhook_endpoint_create(project=local_project, url="http://127.0.0.1:9/b")

    assert first.secret.startswith("whsec_") and first.secret != second.secret
    assert first.public_id.startswith("wh_")
    old = first.secret
    assert webhook_endpoint_rotate_secret(project=local_project, endpoint=first).secret != old


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        (
            {"X-Voucherify-Signature": "forged"},
            "The header X-Voucherify-Signature is set by the webhook itself.",
        ),
        ({"Content-Type": "text/plain"}, "The header Content-Type is set by the webhook itself."),
        ({"X-Key": "a", "x-key": "b"}, "The header x-key is given twice (names are case-insensitive)."),
        ({"Bad Name": "a"}, "'Bad Name' is not a valid header name."),
        (
            {"X-Split": "a\r\nInjected: 1"},
            "The value of X-Split must be one line of text, up to 1000 characters.",
        ),
    ],
)
def test_bad_custom_headers_are_refused_and_nothing_is_saved(local_project, headers, problem):
    with rows_unchanged(WebhookEndpoint.objects.unscoped()):
        with pytest.raises(ValidationError) as caught:
            webhook_endpoint_create(project=local_project, url="http://127.0.0.1:9/", headers=headers)

    assert caught.value.message_dict == {"headers": [problem]}


def test_activating_an_endpoint_again_clears_its_failing_flag(local_project):
    endpoint = webhook_endpoint_create(project=local_project, url="http://127.0.0.1:9/")
    webhook_endpoints_mark_failing(project=local_project, endpoint_ids=[endpoint.pk], reason="HTTP 500")
    endpoint.refresh_from_db()
    assert (endpoint.is_failing, endpoint.failing_reason) == (True, "HTTP 500")

    webhook_endpoint_update(project=local_project, endpoint=endpoint, is_active=True)

    endpoint.refresh_from_db()
    assert (endpoint.is_failing, endpoint.failing_reason, endpoint.failing_since) == (False, "", None)


def test_marking_failing_stays_inside_the_project(local_project, other_project):
    endpoint = webhook_endpoint_create(project=local_project, url="http://127.0.0.1:9/")

    assert webhook_endpoints_mark_failing(project=other_project, endpoint_ids=[endpoint.pk], reason="x") == 0
    endpoint.refresh_from_db()
    assert endpoint.is_failing is False
