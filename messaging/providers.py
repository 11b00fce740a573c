"""Provider accounts per project (Twilio-compatible SMS, Mailchimp, Braze): their settings, secrets
kept encrypted, the HTTP call every provider channel makes, and the connection test run at save.

A provider is saved only after its connection test passes, so wrong credentials are a clear error on
the settings page rather than every message failing later. Base URLs pass the same SSRF guard as
webhook endpoints (the project's `allow_private_webhook_targets` admits local stand-ins).

Secrets are encrypted with a key derived from SECRET_KEY: HMAC-SHA256 in counter mode as the key
stream and an HMAC tag over nonce and ciphertext (encrypt-then-MAC; stdlib only, as the project has
no `cryptography` dependency). They are never rendered back: forms show only whether one is set.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from messaging.models import ChannelProvider
from tenancy.models import Project
from webhooks_out import transport
from webhooks_out.guard import Target, TargetRefused, TargetUnresolvable, resolve_target

USER_AGENT = "DistributionManager-Delivery/1.0"
CONNECTION_TEST_TIMEOUT = 10.0


# --- Secrets --------------------------------------------------------------------------------------

_SECRET_PREFIX = "enc1:"  # noqa: S105 (a format marker, not a secret)


def _keys() -> tuple[bytes, bytes]:
    root = settings.SECRET_KEY.encode()
    return (
        hmac.new(root, b"channel-provider-secrets:encrypt", hashlib.sha256).digest(),
        hmac.new(root, b"channel-provider-secrets:authenticate", hashlib.sha256).digest(),
    )


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (length + 31) // 32
    return b"".join(
        hmac.new(key, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
        for counter in range(blocks)
    )[:length]


def encrypt_secret(plain: str) -> str:
    encrypt_key, mac_key = _keys()
    nonce = secrets.token_bytes(16)
    data = plain.encode()
    cipher = bytes(a ^ b for a, b in zip(data, _keystream(encrypt_key, nonce, len(data)), strict=True))
    tag = hmac.new(mac_key, nonce + cipher, hashlib.sha256).digest()[:16]
    return _SECRET_PREFIX + base64.urlsafe_b64encode(nonce + tag + cipher).decode()


def decrypt_secret(stored: str) -> str:
    if not stored.startswith(_SECRET_PREFIX):
        raise ValueError("Not an encrypted secret.")
    raw = base64.urlsafe_b64decode(stored.removeprefix(_SECRET_PREFIX))
    nonce, tag, cipher = raw[:16], raw[16:32], raw[32:]
    encrypt_key, mac_key = _keys()
    if not hmac.compare_digest(tag, hmac.new(mac_key, nonce + cipher, hashlib.sha256).digest()[:16]):
        raise ValueError("The secret does not decrypt with this SECRET_KEY.")
    return bytes(
        a ^ b for a, b in zip(cipher, _keystream(encrypt_key, nonce, len(cipher)), strict=True)
    ).decode()


# --- What each kind needs -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderSpec:
    kind: str
    fields: tuple[str, ...]  # every setting, all required
    secret_fields: tuple[str, ...]
    default_base_url: str
    labels: Mapping[str, str]


SPECS: dict[str, ProviderSpec] = {
    "sms": ProviderSpec(
        kind="sms",
        fields=("account_sid", "auth_token", "sender"),
        secret_fields=("auth_token",),
        default_base_url="https://api.twilio.com",
        labels={"account_sid": "Account SID", "auth_token": "Auth token", "sender": "Sender (From)"},
    ),
    "mailchimp": ProviderSpec(
        kind="mailchimp",
        fields=("api_key", "list_id"),
        secret_fields=("api_key",),
        # The data centre is the API key's suffix ("…-us21"): the default base URL follows it.
        default_base_url="https://{dc}.api.mailchimp.com",
        labels={"api_key": "API key", "list_id": "Audience (list) id"},
    ),
    "braze": ProviderSpec(
        kind="braze",
        fields=("api_key",),
        secret_fields=("api_key",),
        default_base_url="https://rest.iad-01.braze.com",
        labels={"api_key": "REST API key"},
    ),
}


def provider_credentials(provider: ChannelProvider) -> dict[str, str]:
    """The provider's settings with its secrets decrypted, for the channel's calls only."""
    spec = SPECS[provider.kind]
    values = dict(provider.settings)
    for name in spec.secret_fields:
        if values.get(name):
            values[name] = decrypt_secret(values[name])
    return values


def provider_get(*, project: Project, kind: str) -> ChannelProvider | None:
    return ChannelProvider.objects.for_project(project).filter(kind=kind).first()


# --- The HTTP call --------------------------------------------------------------------------------


def resolve_base(base_url: str, path: str, *, project: Project) -> Target:
    """The guarded target for `base_url` + `path`; raises `TargetRefused` or `TargetUnresolvable`."""
    return resolve_target(base_url.rstrip("/") + path, allow_private=project.allow_private_webhook_targets)


def connection_pool(target: Target) -> urllib3.HTTPConnectionPool:
    """The worker's shared urllib3 pool for the address the guard checked (its name for TLS)."""
    pool_kwargs = {}
    if target.scheme == "https":
        pool_kwargs = {"server_hostname": target.host, "assert_hostname": target.host}
    return transport.pool_manager().connection_from_host(
        target.address, target.port, target.scheme, pool_kwargs=pool_kwargs
    )


def http_call(
    method: str,
    target: Target,
    *,
    body: bytes | None,
    headers: Mapping[str, str],
    timeout: float,
    pool: urllib3.HTTPConnectionPool | None = None,
) -> transport.Response:
    """One request over the worker's shared urllib3 pool, to the address the guard checked.

    `pool`, from `connection_pool(target)`, spares a caller that calls one host many times the pool
    manager's lookup (about 10 µs a call)."""
    if pool is None:
        pool = connection_pool(target)
    started = time.monotonic()
    try:
        response = pool.urlopen(
            method,
            target.path,
            body=body,
            headers={"User-Agent": USER_AGENT, **headers, "Host": target.host_header},
            retries=False,
            redirect=False,
            timeout=_total_timeout(timeout),
            preload_content=False,
            assert_same_host=False,
        )
    except urllib3.exceptions.HTTPError as error:
        return transport.Response(None, b"", _elapsed_ms(started), error=transport._describe(error, timeout))
    try:
        if _known_plain_length_within_limit(response):
            # One read: a bounded `read(amt)` reads twice, the second time to find the end.
            content = response.read()
        else:
            content = response.read(transport.MAX_RESPONSE_BYTES)
        if response.length_remaining:
            response.close()
        else:
            response.release_conn()
    except urllib3.exceptions.HTTPError as error:
        response.close()
        return transport.Response(
            response.status, b"", _elapsed_ms(started), error=transport._describe(error, timeout)
        )
    return transport.Response(response.status, content, _elapsed_ms(started))


def _known_plain_length_within_limit(response: urllib3.BaseHTTPResponse) -> bool:
    """A body of a declared length within our limit, not compressed (its decoded size is its length)."""
    remaining = response.length_remaining
    return (
        remaining is not None
        and remaining <= transport.MAX_RESPONSE_BYTES
        and "Content-Encoding" not in response.headers
    )


@functools.cache
def _total_timeout(seconds: float) -> urllib3.Timeout:
    """One `Timeout` per value: urllib3 clones it for each request, never changes it."""
    return urllib3.Timeout(total=seconds)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def is_transient_status(status: int | None) -> bool:
    """No answer, 429 and 5xx are worth retrying; any other 4xx is the request's own fault."""
    return status is None or status == 429 or status >= 500


def describe_answer(response: transport.Response) -> str:
    if response.status is None:
        return response.error
    snippet = response.body[:200].decode("utf-8", errors="replace").strip()
    return f"HTTP {response.status}: {snippet}".strip()


# --- Connection tests -----------------------------------------------------------------------------


def _test_request(kind: str, credentials: Mapping[str, str]) -> tuple[str, str, bytes | None, dict[str, str]]:
    """(method, path, body, headers) of the cheapest authenticated call each provider offers."""
    if kind == "sms":
        # Twilio: fetch the account itself.
        sid = credentials["account_sid"]
        return (
            "GET",
            f"/2010-04-01/Accounts/{quote(sid, safe='')}.json",
            None,
            {"Authorization": basic_auth(sid, credentials["auth_token"])},
        )
    if kind == "mailchimp":
        return "GET", "/3.0/ping", None, {"Authorization": basic_auth("anystring", credentials["api_key"])}
    # Braze has no ping: `users/track` with nothing to track authenticates the key and writes nothing.
    return (
        "POST",
        "/users/track",
        b'{"attributes":[]}',
        {"Authorization": f"Bearer {credentials['api_key']}", "Content-Type": "application/json"},
    )


def provider_connection_test(
    *, project: Project, kind: str, base_url: str, credentials: Mapping[str, str]
) -> None:
    """Call the provider with these credentials; raise `ValidationError` saying what went wrong."""
    method, path, body, headers = _test_request(kind, credentials)
    try:
        target = resolve_base(base_url, path, project=project)
    except (TargetRefused, TargetUnresolvable) as error:
        raise ValidationError({"base_url": str(error)}) from None
    response = http_call(method, target, body=body, headers=headers, timeout=CONNECTION_TEST_TIMEOUT)
    if response.is_success:
        return
    if response.status in (401, 403):
        raise ValidationError(
            {"credentials": f"The provider refused these credentials ({describe_answer(response)})."}
        )
    if kind == "braze" and response.status == 400:
        return  # authenticated; Braze only disliked the empty request
    raise ValidationError(
        {"base_url": f"The connection test to {base_url} failed: {describe_answer(response)}."}
    )


# --- Writes ---------------------------------------------------------------------------------------


def _default_base_url(kind: str, values: Mapping[str, str]) -> str:
    template = SPECS[kind].default_base_url
    if "{dc}" in template:
        api_key = values.get("api_key", "")
        dc = api_key.rpartition("-")[2] if "-" in api_key else ""
        if not dc.isalnum():
            raise ValidationError(
                {"base_url": "Give a base URL, or an API key ending in its data centre (-us21)."}
            )
        return template.format(dc=dc)
    return template


def _clean(kind: str, values: Mapping[str, Any], existing: Mapping[str, str] | None) -> dict[str, str]:
    spec = SPECS.get(kind)
    if spec is None:
        raise ValidationError({"kind": f"Unknown provider kind {kind!r}; known: {', '.join(SPECS)}."})
    unknown = set(values) - set(spec.fields)
    problems: dict[str, list[str]] = {}
    if unknown:
        problems["settings"] = [f"Unknown settings: {', '.join(sorted(unknown))}."]
    cleaned: dict[str, str] = {}
    for name in spec.fields:
        value = values.get(name)
        if value in (None, "") and existing and name in spec.secret_fields:
            cleaned[name] = existing[name]  # a secret left blank keeps the saved one
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > 500:
            problems[name] = [f"{spec.labels[name]} is required (at most 500 characters)."]
            continue
        cleaned[name] = value.strip()
    if problems:
        raise ValidationError(problems)
    return cleaned


def _stored(kind: str, credentials: Mapping[str, str]) -> dict[str, str]:
    secret_fields = SPECS[kind].secret_fields
    return {
        name: encrypt_secret(value) if name in secret_fields else value for name, value in credentials.items()
    }


def channel_provider_create(
    *,
    project: Project,
    kind: str,
    settings: Mapping[str, Any],
    base_url: str = "",
    is_active: bool = True,
) -> ChannelProvider:
    """Save the project's provider of this kind after a passing connection test (one per kind).

    Raises `ValidationError` (nothing saved) for missing settings, a forbidden base URL or
    credentials the provider refuses.
    """
    credentials = _clean(kind, settings, None)
    base_url = (base_url or "").strip() or _default_base_url(kind, credentials)
    if provider_get(project=project, kind=kind) is not None:
        raise ValidationError({"kind": f"The project already has a {kind} provider; update it instead."})
    provider_connection_test(project=project, kind=kind, base_url=base_url, credentials=credentials)
    now = timezone.now()
    with transaction.atomic():
        return ChannelProvider.objects.create(
            project=project,
            kind=kind,
            base_url=base_url,
            settings=_stored(kind, credentials),
            is_active=is_active,
            checked_at=now,
            created_at=now,
            updated_at=now,
        )


def channel_provider_update(
    *,
    project: Project,
    provider: ChannelProvider,
    settings: Mapping[str, Any],
    base_url: str = "",
    is_active: bool = True,
) -> ChannelProvider:
    """Change a provider; secrets left blank keep their saved value. Tested again before saving."""
    if provider.project_id != project.pk:
        raise ValueError("The provider belongs to another project.")
    credentials = _clean(provider.kind, settings, provider_credentials(provider))
    base_url = (base_url or "").strip() or _default_base_url(provider.kind, credentials)
    provider_connection_test(project=project, kind=provider.kind, base_url=base_url, credentials=credentials)
    now = timezone.now()
    with transaction.atomic():
        ChannelProvider.objects.for_project(project).filter(pk=provider.pk).update(
            base_url=base_url,
            settings=_stored(provider.kind, credentials),
            is_active=is_active,
            checked_at=now,
            updated_at=now,
        )
    provider.refresh_from_db()
    return provider


def public_settings(provider: ChannelProvider) -> dict[str, str]:
    """What a page may show: plain settings as saved, secrets only as "set"."""
    spec = SPECS[provider.kind]
    return {
        spec.labels[name]: ("•••••• (set)" if name in spec.secret_fields else provider.settings.get(name, ""))
        for name in spec.fields
    }


# `json.dumps` with these options builds a new encoder on every call.
_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def json_body(data: Any) -> bytes:
    return _JSON_ENCODER.encode(data).encode()


def form_body(data: Mapping[str, str]) -> bytes:
    return urlencode(data).encode()


# --- Demo -----------------------------------------------------------------------------------------


def seed_providers(project: Project, *, base_url: str | None = None) -> list[ChannelProvider]:
    """Demo data (idempotent): the project's SMS, Mailchimp and Braze providers point at our own
    sandbox stand-ins. Saved without a connection test, since the app may not be serving yet when
    the demo is seeded; the stand-ins accept exactly these credentials."""
    from webhooks_out.stand_ins import KINDS, stand_in_base_url, stand_in_credentials

    if not project.allow_private_webhook_targets:
        Project.objects.filter(pk=project.pk).update(allow_private_webhook_targets=True)
        project.allow_private_webhook_targets = True
    providers = []
    for kind in KINDS:
        provider = provider_get(project=project, kind=kind)
        if provider is None:
            provider = ChannelProvider.objects.create(
                project=project,
                kind=kind,
                base_url=stand_in_base_url(project, kind, base_url=base_url),
                settings=_stored(kind, stand_in_credentials(project, kind)),
            )
        providers.append(provider)
    return providers
