"""Signed links that go out in messages: the one-click unsubscribe page and the customer cockpit.

Both are public pages (no login, no API key), so the link itself is the credential: a token signed
with django.core.signing naming the project, the customer (and, to unsubscribe, the channel). The
tokens carry ids only and no expiry: a link in a year-old email must still unsubscribe.
The pages are served elsewhere (`/u/<token>`: consent; `/c/<token>`: the cockpit); these builders
and readers are the contract between them and the messages.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse

# One token format for each page, owned by the page's module (`messaging.unsubscribe`,
# `messaging.cockpit`); these wrappers keep the builders' cheap URL prefix lookup below.


def unsubscribe_token(project: Any, customer: Any, channel: str) -> str:
    from messaging.unsubscribe import unsubscribe_token_for

    return unsubscribe_token_for(project, customer, channel)


def read_unsubscribe_token(token: str) -> dict[str, Any]:
    """`{"p": project pk, "c": customer pk, "ch": channel}`; raises `signing.BadSignature`."""
    from messaging.unsubscribe import unsubscribe_token_read

    payload = unsubscribe_token_read(token)
    if payload is None:
        raise signing.BadSignature("Not an unsubscribe token of ours.")
    return payload


def cockpit_token(project: Any, customer: Any) -> str:
    from messaging.cockpit import cockpit_token_for

    return cockpit_token_for(project, customer)


def read_cockpit_token(token: str) -> dict[str, Any]:
    """`{"p": project pk, "c": customer pk}`; raises `signing.BadSignature`."""
    from messaging.cockpit import cockpit_token_read

    payload = cockpit_token_read(token)
    if payload is None:
        raise signing.BadSignature("Not a cockpit token of ours.")
    return payload


@functools.cache
def _path_prefix(route: str, fallback_prefix: str) -> str:
    """The path before the token, looked up once per process (reverse costs more than signing).

    The pages are another module's routes; until they exist the agreed path is used as it is.
    """
    try:
        path = reverse(route, kwargs={"token": _PROBE})
    except NoReverseMatch:
        return fallback_prefix
    if not path.endswith(_PROBE):
        raise ImproperlyConfigured(f"The {route!r} route must end with its token.")
    return path.removesuffix(_PROBE)


_PROBE = "TOKEN"


def _absolute(route: str, fallback_prefix: str, token: str) -> str:
    return settings.SITE_URL.rstrip("/") + _path_prefix(route, fallback_prefix) + token


def unsubscribe_url(project: Any, customer: Any, channel: str) -> str:
    """The HTTPS (in production, SITE_URL) link of the one-click unsubscribe page: `/u/<token>`."""
    return _absolute("unsubscribe", "/u/", unsubscribe_token(project, customer, channel))


def cockpit_url(project: Any, customer: Any) -> str:
    """The customer's cockpit (their codes, balances and preferences): `/c/<token>`."""
    return _absolute("cockpit", "/c/", cockpit_token(project, customer))


@dataclass(frozen=True)
class _CodeRef:
    project_id: int
    code: str


def code_image_url(project: Any, code: str, kind: str) -> str:
    """The signed QR code (`kind="qr"`) or barcode image URL of a code, served by campaigns."""
    from campaigns.representation import asset_token

    token = asset_token(_CodeRef(getattr(project, "pk", project), code), kind)
    return _absolute("voucher-asset", "/v1/vouchers/assets/", token)
