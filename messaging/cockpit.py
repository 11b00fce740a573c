"""The customer cockpit `/c/<signed token>`: a public page where one customer sees their codes (with
QR), their loyalty balance and tier, and sets their channel preferences (a POST with CSRF).

The token names the project and the customer and is signed; an altered or forged one is a 404, and
the page reads only that customer's rows.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from campaigns.loyalty.selectors import loyalty_member_state
from campaigns.representation import asset_token
from campaigns.selectors import codes_of_customer
from customers.models import Customer
from messaging.consent import (
    CONSENT_CHANNELS,
    Subscribed,
    Unsubscribed,
    customer_consents,
    customer_consents_set,
)
from messaging.models import CustomerConsent
from tenancy.models import Project

COCKPIT_SALT = "messaging.cockpit"
COCKPIT_CODES = 50


def cockpit_token_for(project: Project, customer: Customer) -> str:
    ids = {"p": getattr(project, "pk", project), "c": getattr(customer, "pk", customer)}  # a sample: its id
    return signing.Signer(salt=COCKPIT_SALT).sign_object(ids, compress=True)


def cockpit_url_of(customer: Customer) -> str:
    """The cockpit URL from the customer row alone (no query for its project): for representations."""
    token = signing.Signer(salt=COCKPIT_SALT).sign_object(
        {"p": customer.project_id, "c": customer.pk}, compress=True
    )
    return settings.SITE_URL + reverse("cockpit", kwargs={"token": token})


def cockpit_token_read(token: str) -> dict[str, Any] | None:
    """The token's payload (`p` project id, `c` customer id); None if forged or altered."""
    try:
        payload = signing.Signer(salt=COCKPIT_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(payload, dict) or not {"p", "c"} <= payload.keys():
        return None
    return payload


def cockpit_url(project: Project, customer: Customer) -> str:
    return settings.SITE_URL + reverse("cockpit", kwargs={"token": cockpit_token_for(project, customer)})


def _resolve(token: str) -> tuple[Project, Customer]:
    payload = cockpit_token_read(token)
    project = Project.objects.filter(pk=payload["p"]).first() if payload else None
    customer = Customer.objects.for_project(project).filter(pk=payload["c"]).first() if project else None
    if customer is None:
        raise Http404("No such page.")
    return project, customer


@never_cache
@require_http_methods(["GET", "POST"])
def cockpit_view(request: HttpRequest, token: str) -> HttpResponse:
    project, customer = _resolve(token)
    if request.method == "POST":
        changes = {
            channel: Subscribed if request.POST.get(f"channel_{channel}") == "on" else Unsubscribed
            for channel in CONSENT_CHANNELS
        }
        customer_consents_set(
            project=project, customer=customer, changes=changes, source=CustomerConsent.Source.COCKPIT
        )
        return redirect(reverse("cockpit", kwargs={"token": token}) + "?saved=1")
    codes = [
        {
            "publication": publication,
            "voucher": publication.voucher,
            "qr_url": reverse("voucher-asset", kwargs={"token": asset_token(publication.voucher, "qr")}),
        }
        for publication in codes_of_customer(project=project, customer_id=customer.pk, limit=COCKPIT_CODES)
    ]
    return render(
        request,
        "messaging/cockpit.html",
        {
            "project": project,
            "customer": customer,
            "codes": codes,
            "loyalty": list(loyalty_member_state(project, customer).values()),
            "consents": [
                c
                for c in customer_consents(project=project, customer=customer)
                if c.channel in CONSENT_CHANNELS
            ],
            "saved": request.GET.get("saved") == "1",
            "token": token,
        },
    )
