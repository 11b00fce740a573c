"""Mailchimp and Braze channels against a real local receiver: the code and chosen fields land on the
customer's profile in the tool; nothing goes to the customer; 2xx delivered, 429/5xx transient,
other 4xx permanent."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.core.exceptions import ValidationError

from messaging.delivery import messages_deliver
from messaging.services import message_template_create
from tests.factories import CustomerFactory
from tests.support.messaging import reload
from tests.support.providers import BRAZE_CREDENTIALS, MAILCHIMP_CREDENTIALS, enqueue_on, provider_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailchimp(local_project, receiver):
    provider_at(local_project, receiver, "mailchimp", MAILCHIMP_CREDENTIALS)
    return message_template_create(
        project=local_project,
        channel="mailchimp",
        content={"merge_fields": {"CODE": "{{voucher.code}}", "FNAME": "{{customer.first_name | friend}}"}},
    )


@pytest.fixture
def braze(local_project, receiver):
    provider_at(local_project, receiver, "braze", BRAZE_CREDENTIALS)
    return message_template_create(
        project=local_project,
        channel="braze",
        content={"attributes": {"voucher_code": "{{voucher.code}}", "tier": "{{loyalty.tier | none}}"}},
    )


def test_mailchimp_upserts_the_member_at_the_md5_of_the_lowercase_email_with_merge_fields(
    local_project, stream, mailchimp, receiver
):
    ada = CustomerFactory(project=local_project, name="Ada Lovelace", email="Ada.Lovelace@Example.COM")
    [message] = enqueue_on("mailchimp", local_project, stream, mailchimp, [ada])

    report = messages_deliver(project=local_project, channel="mailchimp", message_ids=[message.pk])

    assert report.sent == 1
    [request] = receiver.requests
    expected_hash = hashlib.md5(b"ada.lovelace@example.com", usedforsecurity=False).hexdigest()
    assert (request.method, request.path) == ("PUT", f"/3.0/lists/list42/members/{expected_hash}")
    assert request.json() == {
        "email_address": "Ada.Lovelace@Example.COM",
        "status_if_new": "transactional",
        "merge_fields": {"CODE": f"CODE-{ada.pk}", "FNAME": "Ada"},
    }
    assert base64.b64decode(request.headers["authorization"].removeprefix("Basic ")).decode() == (
        "anystring:" + MAILCHIMP_CREDENTIALS["api_key"]
    )
    assert request.headers["idempotency-key"] == message.public_id
    assert reload(message).state == "sent"


def test_mailchimp_skips_a_customer_without_email(local_project, stream, mailchimp, receiver):
    [message] = enqueue_on(
        "mailchimp", local_project, stream, mailchimp, [CustomerFactory(project=local_project, email=None)]
    )

    messages_deliver(project=local_project, channel="mailchimp", message_ids=[message.pk])

    assert reload(message).state == "skipped"
    assert reload(message).last_error == "The customer has no email address."
    assert receiver.requests == []


def test_braze_tracks_custom_attributes_under_the_source_id_or_our_id(local_project, stream, braze, receiver):
    known = CustomerFactory(project=local_project, source_id="shop-42")
    anonymous = CustomerFactory(project=local_project, source_id=None)
    messages = enqueue_on("braze", local_project, stream, braze, [known, anonymous])

    report = messages_deliver(project=local_project, channel="braze", message_ids=[m.pk for m in messages])

    assert report.sent == 2
    first, second = receiver.requests
    assert (first.method, first.path) == ("POST", "/users/track")
    assert first.headers["authorization"] == "Bearer braze-rest-key"
    assert first.json() == {
        "attributes": [{"external_id": "shop-42", "voucher_code": f"CODE-{known.pk}", "tier": "none"}]
    }
    assert second.json()["attributes"][0]["external_id"] == anonymous.public_id


@pytest.mark.parametrize(
    ("status", "state"), [(429, "deferred"), (500, "deferred"), (400, "failed"), (404, "failed")]
)
def test_integration_answers_are_classified(local_project, stream, braze, mailchimp, receiver, status, state):
    customer = CustomerFactory(project=local_project, email="x@example.com")
    receiver.fail_next(2, status=status)
    [braze_message] = enqueue_on("braze", local_project, stream, braze, [customer])
    [mailchimp_message] = enqueue_on("mailchimp", local_project, stream, mailchimp, [customer])

    messages_deliver(project=local_project, channel="braze", message_ids=[braze_message.pk])
    messages_deliver(project=local_project, channel="mailchimp", message_ids=[mailchimp_message.pk])

    assert (reload(braze_message).state, reload(mailchimp_message).state) == (state, state)


@pytest.mark.parametrize(
    ("channel", "content", "problems"),
    [
        (
            "mailchimp",
            {"merge_fields": {"CODE": "{{voucher.secret}}"}},
            {"merge_fields": ["Unknown variable {{voucher.secret}} at CODE."]},
        ),
        (
            "mailchimp",
            {"merge_fields": {"code_too_long": "x"}},
            {"merge_fields": ["'code_too_long' is not a valid merge field name ([A-Z0-9_]{1,10})."]},
        ),
        (
            "mailchimp",
            {"merge_fields": {}},
            {"merge_fields": ["At least one merge field is required, as an object of name → text."]},
        ),
        (
            "mailchimp",
            {"merge_fields": {"CODE": "x"}, "status_if_new": "cleaned"},
            {"status_if_new": ["One of: transactional, subscribed, pending."]},
        ),
        (
            "braze",
            {"attributes": {"external_id": "{{customer.id}}"}},
            {"attributes": ["Reserved attribute names: external_id."]},
        ),
        ("braze", {"attributes": {"code": 5}}, {"attributes": ["The attribute 'code' must be text."]}),
    ],
)
def test_bad_integration_templates_are_refused(project, channel, content, problems):
    with pytest.raises(ValidationError) as refused:
        message_template_create(project=project, channel=channel, content=content)

    assert refused.value.message_dict == problems
