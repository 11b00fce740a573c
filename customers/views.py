"""Dashboard: the customer list (search, keyset paging, live search with htmx) and the customer page."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.vary import vary_on_headers

from campaigns.selectors import codes_of_customer
from customers.forms import CustomerForm, CustomerSearchForm, pretty_json
from customers.models import Customer, CustomerQuerySet, CustomEvent, Order
from customers.services import customer_update
from eventbus.models import DomainEvent
from tenancy.access import access_customer, membership_required

PAGE_SIZE = 50
RECENT_EVENTS = 20
RECENT_ORDERS = 10
RECENT_CUSTOM_EVENTS = 10
RECENT_CODES = 20
LIST_COLUMNS = ("public_id", "source_id", "name", "email", "phone", "address_city", "created_at")


def _search(customers: CustomerQuerySet, q: str) -> CustomerQuerySet:
    if not q:
        return customers
    if q.startswith("cust_"):
        return customers.filter(public_id=q)
    return customers.filter(Q(name__icontains=q) | Q(email__icontains=q) | Q(source_id__icontains=q))


# Keyset paging over (created_at, id), newest first: a page costs the same at row 50 and at row 500,000.
# The cursor is the boundary row's key; it is opaque to users but not secret (the query is project-scoped).


def _encode_cursor(customer: Customer) -> str:
    raw = f"{customer.created_at.isoformat()}|{customer.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(value: str) -> tuple[datetime, int] | None:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        created_at, pk = raw.split("|")
        return datetime.fromisoformat(created_at), int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


@dataclass
class Page:
    customers: list[Customer]
    next_cursor: str | None
    previous_cursor: str | None


def _page(customers: CustomerQuerySet, *, after: str | None, before: str | None) -> Page:
    if before and (key := _decode_cursor(before)):
        created_at, pk = key
        newer = customers.filter(Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=pk))
        rows = list(newer.order_by("created_at", "pk")[: PAGE_SIZE + 1])
        has_previous, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE][::-1]
        has_next = True
    else:
        has_previous = False
        if after and (key := _decode_cursor(after)):
            created_at, pk = key
            customers = customers.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
            has_previous = True
        rows = list(customers.order_by("-created_at", "-pk")[: PAGE_SIZE + 1])
        has_next, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    return Page(
        customers=rows,
        next_cursor=_encode_cursor(rows[-1]) if has_next and rows else None,
        previous_cursor=_encode_cursor(rows[0]) if has_previous and rows else None,
    )


def _list_url(**params: str) -> str:
    query = urlencode({name: value for name, value in params.items() if value})
    return reverse("customers:list") + (f"?{query}" if query else "")


@vary_on_headers("HX-Request")
@membership_required
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerSearchForm(request.GET)
    q = form.cleaned_data["q"].strip() if form.is_valid() else ""
    customers = _search(Customer.objects.for_project(request.project).only(*LIST_COLUMNS), q)
    page = _page(customers, after=request.GET.get("after"), before=request.GET.get("before"))
    context = {
        "form": form,
        "q": q,
        "page": page,
        "next_url": _list_url(q=q, after=page.next_cursor) if page.next_cursor else None,
        "previous_url": _list_url(q=q, before=page.previous_cursor) if page.previous_cursor else None,
    }
    template = "customers/customer_list.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#customer_table"
    return render(request, template, context)


def _address_lines(customer: Customer) -> list[str]:
    """The address as it is written on an envelope: street lines, postal code and city, state, country."""
    city_line = " ".join(part for part in (customer.address_postal_code, customer.address_city) if part)
    lines = [customer.address_line_1, customer.address_line_2, city_line, customer.address_state]
    return [line for line in [*lines, customer.address_country] if line]


@membership_required
def customer_detail(request: HttpRequest, identifier: str) -> HttpResponse:
    customer = access_customer(request, identifier)
    events = (
        DomainEvent.objects.for_project(request.project)
        .filter(customer=customer)
        .only("public_id", "type", "data", "cause", "created_at")
        .order_by("-created_at", "-pk")[:RECENT_EVENTS]
    )
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "address_lines": _address_lines(customer),
            "metadata_json": pretty_json(customer.metadata) if customer.metadata else None,
            "events": [(event, pretty_json(event.data) if event.data else None) for event in events],
            "orders": Order.objects.for_project(request.project)
            .filter(customer=customer)
            .order_by("-created_at", "-pk")[:RECENT_ORDERS],
            "codes": codes_of_customer(project=request.project, customer_id=customer.pk, limit=RECENT_CODES),
            "custom_events": CustomEvent.objects.for_project(request.project)
            .filter(customer=customer)
            .order_by("-created_at", "-pk")[:RECENT_CUSTOM_EVENTS],
        },
    )


@membership_required(can_edit=True)
def customer_edit(request: HttpRequest, identifier: str) -> HttpResponse:
    customer = access_customer(request, identifier)
    if request.method == "POST":
        form = CustomerForm(request.POST)
        if form.is_valid():
            customer_update(project=request.project, customer=customer, fields=form.fields_for_update())
            messages.success(request, "Customer saved.")
            return redirect("customers:detail", identifier=customer.public_id)
    else:
        form = CustomerForm.for_customer(customer)
    return render(request, "customers/customer_edit.html", {"customer": customer, "form": form})
