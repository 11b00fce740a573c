"""What every editor page shares: the page context, the customer picker's list, saving through the
service, and answering htmx with the right fragments."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django_htmx.http import reswap, retarget

from customers.models import Customer
from distributions import catalogue
from distributions.models import Distribution, DistributionChannel, DistributionStatus
from distributions.services import DistributionRefused
from messaging.editor import forms
from messaging.editor.services import distribution_channel_template_save
from messaging.rendering import known_variables
from tenancy.models import Project

PICKER_SIZE = 6
LIVE = "messaging/editor/_live.html"
FRAMES = {"email": "messaging/editor/_frame_email.html", "sms": "messaging/editor/_frame_sms.html"}


def read_only_reason(distribution: Distribution) -> str:
    """Why this distribution's messages cannot change any more ("" while they can)."""
    if distribution.has_started_sending:
        started = distribution.sending_started_at
        when = f" on {started:%b %d, %Y %H:%M} UTC" if started else ""
        return (
            f"This distribution started sending{when}: what went out is history, so its messages "
            "can no longer be edited."
        )
    if not distribution.is_editable:
        status = distribution.get_status_display().lower()
        return f"This distribution is {status}; its messages can no longer be edited."
    return ""


def chosen_customer(request: HttpRequest) -> Customer | None:
    chosen = (request.POST.get("customer") if request.method == "POST" else request.GET.get("customer")) or ""
    if not chosen:
        return None
    return Customer.objects.for_project(request.project).filter(public_id=chosen).first()


def picker_customers(project: Project, q: str, chosen: Customer | None) -> list[Customer]:
    customers = Customer.objects.for_project(project).only("public_id", "name", "email", "source_id")
    if q:
        customers = customers.filter(Q(name__icontains=q) | Q(email__icontains=q) | Q(source_id__icontains=q))
    found = list(customers.order_by("-created_at", "-pk")[:PICKER_SIZE])
    if chosen is not None:
        found = [chosen, *(c for c in found if c.pk != chosen.pk)][:PICKER_SIZE]
    return found


def base_context(request: HttpRequest, distribution: Distribution, kind: str) -> dict[str, Any]:
    channel = catalogue.channel(kind)
    reason = read_only_reason(distribution)
    customer = chosen_customer(request)
    return {
        "distribution": distribution,
        "kind": kind,
        "channel_label": channel.label,
        "channel_description": channel.description,
        "can_change": request.membership.can_edit and not reason,
        "read_only_reason": reason,
        "is_viewer": not request.membership.can_edit,
        "back_url": f"/distributions/{distribution.public_id}/wizard/channels/",
        "editor_url": reverse("messaging_editor:channel", args=[distribution.public_id, kind]),
        "customers_url": reverse("messaging_editor:customers", args=[distribution.public_id, kind]),
        "customer": customer,
        "picker": picker_customers(request.project, "", customer),
        "variables": [(name, label) for name, label in known_variables().items() if "<" not in name],
        "is_draft": distribution.status == DistributionStatus.DRAFT,
        "frame_template": FRAMES.get(kind, "messaging/editor/_frame_json.html"),
    }


def channel_row(project: Project, distribution: Distribution, kind: str) -> DistributionChannel | None:
    return (
        DistributionChannel.objects.for_project(project).filter(distribution=distribution, kind=kind).first()
    )


def refused(request: HttpRequest, context: dict[str, Any], reason: str) -> HttpResponse:
    """The edit is not allowed: say why where the alerts are, change nothing (409)."""
    context = {**context, "alert": {"level": "error", "message": reason}}
    if request.htmx:
        response = render(request, "messaging/editor/page.html#alerts", context, status=409)
        return reswap(retarget(response, "#editor-alerts"), "outerHTML")
    return render(request, "messaging/editor/refused.html", context, status=409)


def save_template(
    request: HttpRequest,
    distribution: Distribution,
    context: dict[str, Any],
    *,
    template: dict[str, Any],
    settings: dict[str, Any] | None = None,
    sender: dict[str, str] | None = None,
) -> tuple[bool, dict[str, list[str]], HttpResponse | None]:
    """(saved, problems by field, a refusal response); the caller renders the rest."""
    try:
        distribution_channel_template_save(
            project=request.project,
            distribution=distribution,
            kind=context["kind"],
            template=template,
            settings=settings,
            sender=sender,
            by=request.user,
        )
    except ValidationError as error:
        problems = error.message_dict if hasattr(error, "error_dict") else {"content": error.messages}
        return False, problems, None
    except DistributionRefused as error:
        if error.key == "invalid_payload" and error.problems:
            # A value the distribution refuses (`.channels[2].settings.url`) goes next to its field.
            return False, {p.field.rsplit(".", 1)[-1]: [p.message] for p in error.problems}, None
        return False, {}, refused(request, context, error.details)
    return True, {}, None


def saved_alert(context: dict[str, Any]) -> dict[str, str]:
    return {"level": "success", "message": f"{context['channel_label']} message saved."}


def problem_alert() -> dict[str, str]:
    return {"level": "error", "message": "Not saved: fix the fields marked below."}


def field_view(spec: forms.FieldSpec, name: str, value: Any, errors: list[str]) -> dict[str, Any]:
    if spec.widget == "select" and value not in dict(spec.choices):
        # A value the list does not offer (a metadata variable, say) stays chosen instead of
        # silently becoming the first option.
        spec = replace(spec, choices=((str(value), str(value)), *spec.choices))
    return {
        "spec": spec,
        "name": name,
        "id": f"f-{name}",
        "value": "" if value is None else value,
        "checked": bool(value),
        "errors": errors,
    }


def respond(
    request: HttpRequest, context: dict[str, Any], template: str, *, structural: bool
) -> HttpResponse:
    """The full page; or the workspace with the live parts out of band (after a structural change or a
    save); or only the live parts (preview, lint, errors next to fields) while typing, so the field
    being typed in is never replaced."""
    context.setdefault(
        "unsaved", request.method == "POST" and (context.get("alert") or {}).get("level") != "success"
    )
    if not request.htmx or request.method == "GET":
        return render(request, template, context)
    if structural:
        context["error_slots"] = []  # the new workspace carries its own
        workspace = render_to_string(f"{template}#workspace", context, request)
        return HttpResponse(workspace + render_to_string(LIVE, context, request))
    return reswap(HttpResponse(render_to_string(LIVE, context, request)), "none")
