"""The unsubscribe link `/u/<signed token>`: a page that needs a POST, so a link scanner following
every URL in a mail unsubscribes nobody; the same POST serves RFC 8058 one-click unsubscribes
(`List-Unsubscribe=One-Click` in the body, sent by the mailbox provider without a CSRF token; the
signed token is what authorises it).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from customers.models import Customer
from messaging.consent import CONSENT_CHANNELS, Unsubscribed, customer_consents_set
from messaging.models import CustomerConsent
from tenancy.models import Project

UNSUBSCRIBE_SALT = "messaging.unsubscribe"


def unsubscribe_token_for(project: Project, customer: Customer, channel: str) -> str:
    """A stable token naming the project, the customer and the channel (no expiry: a mail read a
    year later must still unsubscribe)."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object(
        # A preview's sample customer is not a row: its id stands in (the link then leads nowhere).
        {"p": getattr(project, "pk", project), "c": getattr(customer, "pk", customer), "ch": channel},
        compress=True,
    )


def unsubscribe_token_read(token: str) -> dict[str, Any] | None:
    """The token's payload (`p` project id, `c` customer id, `ch` channel); None if forged or altered."""
    try:
        payload = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(payload, dict) or not {"p", "c", "ch"} <= payload.keys():
        return None
    return payload


def unsubscribe_url(project: Project, customer: Customer, channel: str) -> str:
    token = unsubscribe_token_for(project, customer, channel)
    return settings.SITE_URL + reverse("unsubscribe", kwargs={"token": token})


def _resolve(token: str) -> tuple[Project, Customer, str]:
    payload = unsubscribe_token_read(token)
    if payload is None or payload["ch"] not in CONSENT_CHANNELS:
        raise Http404("No such link.")
    project = Project.objects.filter(pk=payload["p"]).first()
    if project is None:
        raise Http404("No such link.")
    customer = Customer.objects.for_project(project).filter(pk=payload["c"]).first()
    if customer is None:
        raise Http404("No such link.")
    return project, customer, payload["ch"]


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    project, customer, channel = _resolve(token)
    done = False
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        source = CustomerConsent.Source.ONE_CLICK if one_click else CustomerConsent.Source.UNSUBSCRIBE_LINK
        customer_consents_set(
            project=project, customer=customer, changes={channel: Unsubscribed}, source=source
        )
        done = True
    return render(
        request,
        "messaging/unsubscribe.html",
        {"project": project, "channel": channel, "done": done, "token": token},
    )
