"""Signed links that go out in messages: the one-click unsubscribe page and the customer cockpit.

Both are public pages (no login, no API key), so the link itself is the credential: a token signed
with django.core.signing naming the project, the customer (and, to unsubscribe, the channel). The
tokens carry public ids only and no expiry: a link in a year-old email must still unsubscribe.
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

UNSUBSCRIBE_SALT = "messaging.unsubscribe"
COCKPIT_SALT = "messaging.cockpit"


def _ids(project: Any, customer: Any) -> tuple[str, str]:
    return getattr(project, "public_id", project), getattr(customer, "public_id", customer)


def unsubscribe_token(project: Any, customer: Any, channel: str) -> str:
    project_id, customer_id = _ids(project, customer)
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object(
        {"p": project_id, "c": customer_id, "ch": channel}
    )


def read_unsubscribe_token(token: str) -> dict[str, str]:
    """`{"p": project public id, "c": customer public id, "ch": channel}`; raises `signing.BadSignature`."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)


def cockpit_token(project: Any, customer: Any) -> str:
    project_id, customer_id = _ids(project, customer)
    return signing.Signer(salt=COCKPIT_SALT).sign_object({"p": project_id, "c": customer_id})


def read_cockpit_token(token: str) -> dict[str, str]:
    """`{"p": project public id, "c": customer public id}`; raises `signing.BadSignature`."""
    return signing.Signer(salt=COCKPIT_SALT).unsign_object(token)


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
