"""Writes for webhook endpoints and the sandbox receiver."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tenancy.ids import new_public_id
from tenancy.models import Project
from webhooks_out.guard import TargetRefused, TargetUnresolvable, resolve_target
from webhooks_out.models import SandboxDelivery, WebhookEndpoint
from webhooks_out.signing import new_secret, verify_voucherify

# Headers we write ourselves: a custom header may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-type",
        "content-length",
        "transfer-encoding",
        "connection",
        "user-agent",
        "x-voucherify-signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}")
MAX_CUSTOM_HEADERS = 20


def validate_target_url(url: str, *, project: Project) -> str:
    """The URL as it will be called, or a `ValidationError` on `url` saying why it may not be."""
    url = (url or "").strip()
    if len(url) > 2000:
        raise ValidationError({"url": "The URL is longer than 2000 characters."})
    try:
        resolve_target(url, allow_private=project.allow_private_webhook_targets)
    except (TargetRefused, TargetUnresolvable) as error:
        raise ValidationError({"url": str(error)}) from None
    return url


def validate_custom_headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    headers = dict(headers or {})
    problems = []
    if len(headers) > MAX_CUSTOM_HEADERS:
        problems.append(f"At most {MAX_CUSTOM_HEADERS} custom headers.")
    seen: set[str] = set()
    for name, value in headers.items():
        lowered = str(name).lower()
        if not _HEADER_NAME.fullmatch(str(name)):
            problems.append(f"{name!r} is not a valid header name.")
        elif lowered in RESERVED_HEADERS:
            problems.append(f"The header {name} is set by the webhook itself.")
        elif lowered in seen:
            problems.append(f"The header {name} is given twice (names are case-insensitive).")
        seen.add(lowered)
        if not isinstance(value, str) or "\r" in value or "\n" in value or len(value) > 1000:
            problems.append(f"The value of {name} must be one line of text, up to 1000 characters.")
    if problems:
        raise ValidationError({"headers": problems})
    return {str(name): value for name, value in headers.items()}


@transaction.atomic
def webhook_endpoint_create(
    *, project: Project, url: str, name: str = "", headers: Mapping[str, Any] | None = None
) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        project=project,
        public_id=new_public_id("wh", 20),
        name=name,
        url=validate_target_url(url, project=project),
        headers=validate_custom_headers(headers),
        secret=new_secret(),
    )


@transaction.atomic
def webhook_endpoint_update(
    *,
    project: Project,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    name: str | None = None,
    headers: Mapping[str, Any] | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    """Change an endpoint; activating it again also clears its failing flag."""
    if url is not None:
        endpoint.url = validate_target_url(url, project=project)
    if name is not None:
        endpoint.name = name
    if headers is not None:
        endpoint.headers = validate_custom_headers(headers)
    if is_active is not None:
        if is_active:
            endpoint.is_failing, endpoint.failing_reason, endpoint.failing_since = False, "", None
        endpoint.is_active = is_active
    endpoint.updated_at = timezone.now()
    endpoint.save()
    return endpoint


def webhook_endpoint_rotate_secret(*, project: Project, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    WebhookEndpoint.objects.for_project(project).filter(pk=endpoint.pk).update(
        secret=new_secret(), updated_at=timezone.now()
    )
    endpoint.refresh_from_db()
    return endpoint


def webhook_endpoints_mark_failing(*, project: Project, endpoint_ids: Iterable[int], reason: str) -> int:
    """Flag endpoints whose messages failed for good (called inside the delivery outcome transaction)."""
    now = timezone.now()
    return (
        WebhookEndpoint.objects.for_project(project)
        .filter(pk__in=list(endpoint_ids), is_failing=False)
        .update(is_failing=True, failing_reason=reason[:1000], failing_since=now, updated_at=now)
    )


def webhook_endpoints_mark_healthy(*, project: Project, endpoint_ids: Iterable[int]) -> int:
    return (
        WebhookEndpoint.objects.for_project(project)
        .filter(pk__in=list(endpoint_ids), is_failing=True)
        .update(is_failing=False, failing_reason="", failing_since=None, updated_at=timezone.now())
    )


# --- The sandbox receiver ---------------------------------------------------------------------

MAX_SANDBOX_BODY = 256 * 1024


def sandbox_token(project: Project) -> str:
    """The unguessable part of a project's sandbox URL (derived, so nothing to store or rotate)."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"sandbox-webhooks:{project.public_id}".encode(), hashlib.sha256).hexdigest()[:32]


def sandbox_url(project: Project, *, base_url: str | None = None) -> str:
    path = reverse("sandbox_webhook_receive", args=[project.public_id, sandbox_token(project)])
    return (base_url or settings.SITE_URL).rstrip("/") + path


def sandbox_delivery_record(
    *,
    project: Project,
    headers: Mapping[str, str],
    body: bytes,
    kind: str = "webhook",
    request_line: str = "",
) -> SandboxDelivery:
    """Keep what arrived (a webhook, or an email from the sandbox's SMTP sink); say which of the
    project's endpoints signed it, if one did."""
    signature = next(
        (value for name, value in headers.items() if name.lower() == "x-voucherify-signature"), ""
    )
    verified = ""
    if signature:
        for public_id, secret in WebhookEndpoint.objects.for_project(project).values_list(
            "public_id", "secret"
        ):
            if verify_voucherify(secret, body, signature):
                verified = public_id
                break
    return SandboxDelivery.objects.create(
        project=project,
        headers=dict(headers),
        body=body[:MAX_SANDBOX_BODY].decode("utf-8", errors="replace"),
        verified_endpoint=verified,
        kind=kind,
        request_line=request_line[:300],
    )


def seed_webhooks(project: Project, *, base_url: str | None = None) -> WebhookEndpoint:
    """Demo data (idempotent): the project may call private targets and has a sandbox endpoint."""
    if not project.allow_private_webhook_targets:
        Project.objects.filter(pk=project.pk).update(allow_private_webhook_targets=True)
        project.allow_private_webhook_targets = True
    url = sandbox_url(project, base_url=base_url)
    existing = WebhookEndpoint.objects.for_project(project).filter(url=url).first()
    if existing is not None:
        return existing
    return webhook_endpoint_create(project=project, url=url, name="Sandbox receiver")
