"""Provider accounts: saved only after a passing connection test, secrets encrypted and never shown,
base URLs behind the SSRF guard."""

from __future__ import annotations

import base64

import pytest
from django.core.exceptions import ValidationError

from messaging.models import ChannelProvider
from messaging.providers import (
    channel_provider_create,
    channel_provider_update,
    decrypt_secret,
    http_call,
    provider_credentials,
    public_settings,
    resolve_base,
)
from tests.support.messaging import rows_unchanged
from tests.support.providers import BRAZE_CREDENTIALS, MAILCHIMP_CREDENTIALS, SMS_CREDENTIALS, base_url
from webhooks_out.transport import MAX_RESPONSE_BYTES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "credentials", "method", "path"),
    [
        ("sms", SMS_CREDENTIALS, "GET", "/2010-04-01/Accounts/AC0123456789abcdef.json"),
        ("mailchimp", MAILCHIMP_CREDENTIALS, "GET", "/3.0/ping"),
        ("braze", BRAZE_CREDENTIALS, "POST", "/users/track"),
    ],
)
def test_saving_a_provider_runs_its_connection_test(local_project, receiver, kind, credentials, method, path):
    provider = channel_provider_create(
        project=local_project, kind=kind, settings=credentials, base_url=base_url(receiver)
    )

    [request] = receiver.requests
    assert (request.method, request.path) == (method, path)
    assert provider.checked_at is not None
    assert provider_credentials(provider) == credentials


@pytest.mark.parametrize("status", [401, 403])
def test_wrong_credentials_are_refused_at_save_and_nothing_is_saved(local_project, receiver, status):
    receiver.always(status)

    with rows_unchanged(ChannelProvider.objects.for_project(local_project)):
        with pytest.raises(ValidationError) as refused:
            channel_provider_create(
                project=local_project, kind="sms", settings=SMS_CREDENTIALS, base_url=base_url(receiver)
            )

    assert refused.value.message_dict["credentials"][0].startswith(
        "The provider refused these credentials (HTTP"
    )


def test_an_update_with_wrong_credentials_keeps_the_saved_ones(local_project, receiver):
    provider = channel_provider_create(
        project=local_project, kind="sms", settings=SMS_CREDENTIALS, base_url=base_url(receiver)
    )
    receiver.always(401)

    with rows_unchanged(ChannelProvider.objects.for_project(local_project)):
        with pytest.raises(ValidationError):
            channel_provider_update(
                project=local_project,
                provider=provider,
                settings={**SMS_CREDENTIALS, "auth_token": "wrong"},
                base_url=base_url(receiver),
            )


def test_a_blank_secret_on_update_keeps_the_saved_one(local_project, receiver):
    provider = channel_provider_create(
        project=local_project, kind="sms", settings=SMS_CREDENTIALS, base_url=base_url(receiver)
    )

    channel_provider_update(
        project=local_project,
        provider=provider,
        settings={**SMS_CREDENTIALS, "auth_token": "", "sender": "+15550002222"},
        base_url=base_url(receiver),
    )

    assert provider_credentials(provider) == {**SMS_CREDENTIALS, "sender": "+15550002222"}
    auth = receiver.requests[-1].headers["authorization"].removeprefix("Basic ")
    assert base64.b64decode(auth).decode().endswith(":s3cret-token")


def test_secrets_are_stored_encrypted_and_never_shown(local_project, receiver):
    provider = channel_provider_create(
        project=local_project, kind="braze", settings=BRAZE_CREDENTIALS, base_url=base_url(receiver)
    )

    stored = ChannelProvider.objects.for_project(local_project).get().settings["api_key"]
    assert "braze-rest-key" not in stored and stored.startswith("enc1:")
    assert decrypt_secret(stored) == "braze-rest-key"
    assert "braze-rest-key" not in str(public_settings(provider))
    tampered = stored[:-4] + ("AAAA" if not stored.endswith("AAAA") else "BBBB")
    with pytest.raises(ValueError):
        decrypt_secret(tampered)


def test_a_private_base_url_is_refused_unless_the_project_allows_it(project, receiver):
    with rows_unchanged(ChannelProvider.objects.for_project(project)):
        with pytest.raises(ValidationError) as refused:
            channel_provider_create(
                project=project, kind="sms", settings=SMS_CREDENTIALS, base_url=base_url(receiver)
            )

    assert "private, loopback or link-local" in refused.value.message_dict["base_url"][0]
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("kind", "settings", "field"),
    [
        ("sms", {"account_sid": "AC1", "sender": "+1"}, "auth_token"),
        ("sms", {**SMS_CREDENTIALS, "region": "eu"}, "settings"),
        ("fax", {}, "kind"),
    ],
)
def test_incomplete_settings_are_refused_before_any_call(local_project, receiver, kind, settings, field):
    with pytest.raises(ValidationError) as refused:
        channel_provider_create(
            project=local_project, kind=kind, settings=settings, base_url=base_url(receiver)
        )

    assert field in refused.value.message_dict
    assert receiver.requests == []


def test_the_mailchimp_base_url_follows_the_api_keys_data_centre(local_project):
    with pytest.raises(ValidationError) as refused:
        channel_provider_create(
            project=local_project, kind="mailchimp", settings={"api_key": "nodc", "list_id": "l"}
        )

    assert "data centre" in refused.value.message_dict["base_url"][0]


def test_one_provider_per_kind(local_project, receiver):
    channel_provider_create(
        project=local_project, kind="braze", settings=BRAZE_CREDENTIALS, base_url=base_url(receiver)
    )

    with pytest.raises(ValidationError) as refused:
        channel_provider_create(
            project=local_project, kind="braze", settings=BRAZE_CREDENTIALS, base_url=base_url(receiver)
        )

    assert "already has a braze provider" in refused.value.message_dict["kind"][0]


def test_a_provider_answer_is_read_whole_up_to_the_limit_and_a_longer_one_is_cut_there(
    local_project, receiver
):
    target = resolve_base(base_url(receiver), "/2010-04-01/Accounts/AC1/Messages.json", project=local_project)
    answer = b'{"sid":"SM' + b"0" * 100 + b'"}'
    receiver.answer_with(201, answer)

    first = http_call("POST", target, body=b"To=%2B1", headers={}, timeout=5)
    second = http_call("POST", target, body=b"To=%2B2", headers={}, timeout=5)

    assert (first.status, first.body) == (201, answer)
    assert (second.status, second.body) == (201, answer)

    oversized = b"x" * (MAX_RESPONSE_BYTES + 10_000)
    receiver.answer_with(200, oversized)
    cut = http_call("POST", target, body=b"To=%2B3", headers={}, timeout=5)
    assert (cut.status, cut.body) == (200, oversized[:MAX_RESPONSE_BYTES])

    # The unread rest was dropped with its connection, not left to garble the next answer.
    receiver.answer_with(201, answer)
    after = http_call("POST", target, body=b"To=%2B4", headers={}, timeout=5)
    assert (after.status, after.body) == (201, answer)
    assert len(receiver.requests) == 4
