"""Signed links that go out in messages: the one-click unsubscribe page and the customer cockpit.

Both are public pages (no login, no API key), so the link itself is the credential: a token signed
with django.core.signing naming the project, the customer (and, to unsubscribe, the channel). The
tokens carry public ids only and no expiry: a link in a year-old email must still unsubscribe.
The pages are served elsewhere (`/u/<token>`: consent; `/c/<token>`: the cockpit); these builders
and readers are the contract between them and the messages.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
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


def _absolute(route: str, fallback_prefix: str, token: str) -> str:
    # The pages are another module's routes; until they exist the agreed path is built directly.
    try:
        path = reverse(route, kwargs={"token": token})
    except NoReverseMatch:
        path = f"{fallback_prefix}{token}"
    return settings.SITE_URL.rstrip("/") + path


def unsubscribe_url(project: Any, customer: Any, channel: str) -> str:
    """The HTTPS (in production, SITE_URL) link of the one-click unsubscribe page: `/u/<token>`."""
    return _absolute("unsubscribe", "/u/", unsubscribe_token(project, customer, channel))


def cockpit_url(project: Any, customer: Any) -> str:
    """The customer's cockpit (their codes, balances and preferences): `/c/<token>`."""
    return _absolute("cockpit", "/c/", cockpit_token(project, customer))
