"""The message editor of a distribution's channel: email blocks, SMS, webhook payload, Mailchimp/Braze.

One page per channel at `/distributions/<id>/channels/<kind>/editor/`. The page posts its whole state
on every change; the server checks it with the code that saves and delivers, and answers with
fragments (django-template-partials): a structural change (add, move, remove a block; a starting
point) re-renders the block list and moves focus, a typed change updates only the preview and the
errors next to each field. Nothing is stored until Save, which writes through
`distribution_channel_template_save`. Every POST works without htmx too (the full page comes back).

Viewers open the same page read-only (no controls) and get 403 on any POST; another project's
distribution is a 404; a distribution that started sending refuses edits and says so.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from customers.models import Customer
from distributions import catalogue
from distributions.models import Distribution, DistributionChannel, DistributionStatus
from distributions.services import DistributionRefused
from messaging.channels.base import Sent
from messaging.editor import forms, previews
from messaging.editor.services import distribution_channel_template_save
from messaging.email.design import SOCIAL_NETWORKS, normalise_design
from messaging.email.services import message_template_test_send
from messaging.email.starters import starter
from messaging.rendering import known_variables
from tenancy.access import access_distribution, membership_required
from tenancy.models import Project
from webhooks_out.models import WebhookEndpoint

PICKER_SIZE = 6
LIVE = "messaging/editor/_live.html"
FRAMES = {"email": "messaging/editor/_frame_email.html", "sms": "messaging/editor/_frame_sms.html"}


def _read_only_reason(distribution: Distribution) -> str:
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


def _chosen_customer(request: HttpRequest) -> Customer | None:
    chosen = (request.POST.get("customer") if request.method == "POST" else request.GET.get("customer")) or ""
    if not chosen:
        return None
    return Customer.objects.for_project(request.project).filter(public_id=chosen).first()


def _picker_customers(project: Project, q: str, chosen: Customer | None) -> list[Customer]:
    customers = Customer.objects.for_project(project).only("public_id", "name", "email", "source_id")
    if q:
        customers = customers.filter(Q(name__icontains=q) | Q(email__icontains=q) | Q(source_id__icontains=q))
    found = list(customers.order_by("-created_at", "-pk")[:PICKER_SIZE])
    if chosen is not None:
        found = [chosen, *(c for c in found if c.pk != chosen.pk)][:PICKER_SIZE]
    return found


def _base_context(request: HttpRequest, distribution: Distribution, kind: str) -> dict[str, Any]:
    channel = catalogue.channel(kind)
    read_only_reason = _read_only_reason(distribution)
    customer = _chosen_customer(request)
    return {
        "distribution": distribution,
        "kind": kind,
        "channel_label": channel.label,
        "channel_description": channel.description,
        "can_change": request.membership.can_edit and not read_only_reason,
        "read_only_reason": read_only_reason,
        "is_viewer": not request.membership.can_edit,
        "back_url": f"/distributions/{distribution.public_id}/wizard/channels/",
        "editor_url": reverse("messaging_editor:channel", args=[distribution.public_id, kind]),
        "customers_url": reverse("messaging_editor:customers", args=[distribution.public_id, kind]),
        "customer": customer,
        "picker": _picker_customers(request.project, "", customer),
        "variables": [(name, label) for name, label in known_variables().items() if "<" not in name],
        "is_draft": distribution.status == DistributionStatus.DRAFT,
        "frame_template": FRAMES.get(kind, "messaging/editor/_frame_json.html"),
    }


def _channel_row(project: Project, distribution: Distribution, kind: str) -> DistributionChannel | None:
    return (
        DistributionChannel.objects.for_project(project).filter(distribution=distribution, kind=kind).first()
    )


@vary_on_headers("HX-Request")
@membership_required
@require_http_methods(["GET", "POST"])
def channel_editor(request: HttpRequest, public_id: str, kind: str) -> HttpResponse:
    distribution = access_distribution(request, public_id)
    if catalogue.channel(kind) is None:
        raise Http404("No such channel.")
    context = _base_context(request, distribution, kind)
    if request.method == "POST":
        if not request.membership.can_edit:
            raise PermissionDenied("Your role in this project is read-only.")
        if context["read_only_reason"]:
            return _refused(request, context, context["read_only_reason"])
    editor = {"email": _email_editor, "sms": _sms_editor, "webhook": _webhook_editor}.get(
        kind, _integration_editor
    )
    return editor(request, distribution, context)


def _refused(request: HttpRequest, context: dict[str, Any], reason: str) -> HttpResponse:
    """The edit is not allowed: say why where the alerts are, change nothing (409)."""
    context = {**context, "alert": {"level": "error", "message": reason}}
    if request.htmx:
        response = render(request, "messaging/editor/page.html#alerts", context, status=409)
        return reswap(retarget(response, "#editor-alerts"), "outerHTML")
    return render(request, "messaging/editor/refused.html", context, status=409)


def _save(
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
        return False, {}, _refused(request, context, error.details)
    return True, {}, None


def _saved_alert(context: dict[str, Any]) -> dict[str, str]:
    return {"level": "success", "message": f"{context['channel_label']} message saved."}


def _problem_alert() -> dict[str, str]:
    return {"level": "error", "message": "Not saved: fix the fields marked below."}


# --- Email ------------------------------------------------------------------------------------------


def _field_view(spec: forms.FieldSpec, name: str, value: Any, errors: list[str]) -> dict[str, Any]:
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


def _block_value(kind: str, spec: forms.FieldSpec, raw: dict[str, Any], normalised: dict[str, Any]) -> Any:
    if kind == "text" and spec.name == "text":
        return forms.runs_to_markup(raw.get("runs"))
    if kind == "social" and spec.name in SOCIAL_NETWORKS:
        return next((n.get("url", "") for n in raw.get("networks", []) if n.get("network") == spec.name), "")
    return raw[spec.name] if spec.name in raw else normalised.get(spec.name)


def _section_value(scope: str, name: str, raw: dict[str, Any], normalised: dict[str, Any]) -> Any:
    if scope == "page":
        return raw.get("background_color", normalised["background_color"])
    if scope == "content" and name.startswith("border_"):
        part = name.removeprefix("border_")
        return raw.get("content", {}).get("border", {}).get(part, normalised["content"]["border"][part])
    values = raw.get(scope, {})
    return values[name] if name in values else normalised[scope].get(name)


def _email_views(state: forms.EmailState, problems: dict[str, list[str]]) -> dict[str, Any]:
    """What the template renders: the fixed sections and the blocks, each field with its value and errors."""
    normalised, _ = normalise_design(state.design)
    by_field = forms.email_field_problems(state, problems)
    sections = {
        scope: [
            _field_view(
                spec,
                f"{scope}-{spec.name}",
                _section_value(scope, spec.name, state.design, normalised),
                by_field.get(f"{scope}-{spec.name}", []),
            )
            for spec in specs
        ]
        for scope, specs in forms.SECTION_FIELDS.items()
    }
    blocks = []
    normalised_body = normalised["body"] if len(normalised["body"]) == len(state.blocks) else state.blocks
    for position, (key, raw) in enumerate(zip(state.keys, state.blocks, strict=True)):
        kind = raw["type"]
        blocks.append(
            {
                "key": key,
                "type": kind,
                "label": forms.BLOCK_LABELS[kind],
                "position": position,
                "errors": by_field.get(f"b{key}", []),
                "fields": [
                    _field_view(
                        spec,
                        f"b{key}-{spec.name}",
                        _block_value(kind, spec, raw, normalised_body[position]),
                        by_field.get(f"b{key}-{spec.name}", []),
                    )
                    for spec in forms.BLOCK_FIELDS[kind]
                ],
            }
        )
    top = {
        name: _field_view(
            forms.FieldSpec(name, label, widget, accepts_variables=name != "custom_html"),
            name,
            getattr(state, name),
            by_field.get(name, []),
        )
        for name, label, widget in (
            ("subject", "Subject", "text"),
            ("preheader", "Preheader (the line inboxes show after the subject)", "text"),
            ("custom_html", "Custom HTML", "textarea"),
        )
    }
    every_field = [*top.values(), *(f for fields in sections.values() for f in fields)]
    every_field += [f for block in blocks for f in block["fields"]]
    slots = [(f["name"], f["errors"]) for f in every_field]
    slots += [(f"b{block['key']}", block["errors"]) for block in blocks]
    slots += [(name, by_field.get(name, [])) for name in ("blocks", "mode", "content")]
    header_open = (
        bool(state.design.get("header", {}).get("logo"))
        or state.header_open
        or any(f["errors"] for scope in ("header", "page", "content") for f in sections[scope])
    )
    return {
        "top": top,
        "sections": sections,
        "header_open": header_open,
        "blocks": blocks,
        "error_slots": slots,
        "unplaced": {
            name: messages for name, messages in by_field.items() if name in ("blocks", "mode", "content")
        },
        "block_types": list(forms.BLOCK_LABELS.items()),
    }


def _sender_form(request: HttpRequest) -> dict[str, Any]:
    project = request.project
    return {
        "can_manage": request.membership.can_manage_project,
        "from_name": project.email_from_name,
        "from_address": project.email_from_address,
        "reply_to": project.email_reply_to,
    }


def _email_change(
    state: forms.EmailState, operation: str, context: dict[str, Any]
) -> tuple[forms.EmailState, dict[str, list[str]], tuple[int, str] | None]:
    """Apply the clicked button to the posted state: (the new state, problems, what to focus)."""
    problems: dict[str, list[str]] = {}
    wants_html = (state.mode == "html" and operation != "mode:design") or operation == "mode:html"
    if wants_html and not context["custom_html_allowed"]:
        state.mode = "design"
        return state, {"mode": [_custom_html_refusal(context)]}, None
    if operation.startswith("starter:"):
        name = operation.partition(":")[2]
        if name in ("simple", "flier"):
            return forms.email_state_from_template(starter(name)), problems, (-1, "heading")
        return state, problems, None
    if operation == "reorder":
        state.renumber()
        return state, problems, None
    if operation == "mode:design" and not state.blocks:
        # Custom HTML does not turn into blocks: back in the designer, start from the simple letter.
        state.design = starter("simple")["design"]
        state.renumber()
    if not operation or operation in ("preview", "save", "test_send"):
        return state, problems, None
    try:
        position = forms.apply_operation(state, operation)
    except forms.OperationInvalid as error:
        return state, {"blocks": [str(error)]}, None
    if position is None:
        return state, problems, None
    verb = operation.partition(":")[0]
    return state, problems, (position, {"add": "field", "up": "up", "down": "down"}.get(verb, "heading"))


def _posted_sender(request: HttpRequest, context: dict[str, Any]) -> dict[str, str] | None:
    """The sender fields when an owner or admin changed them (None: the project's stay as they are)."""
    if not context["sender"]["can_manage"] or "from_address" not in request.POST:
        return None
    posted = {name: request.POST.get(name, "").strip() for name in ("from_name", "from_address", "reply_to")}
    context["sender"].update(posted)
    project = request.project
    current = {
        "from_name": project.email_from_name,
        "from_address": project.email_from_address,
        "reply_to": project.email_reply_to,
    }
    # Nothing typed keeps the server's default address; unchanged fields need no event.
    return None if posted == current or not posted["from_address"] else posted


def _email_editor(request: HttpRequest, distribution: Distribution, context: dict[str, Any]) -> HttpResponse:
    project = request.project
    context["custom_html_allowed"] = project.plan == Project.Plan.ENTERPRISE
    context["plan_label"] = project.get_plan_display()
    context["sender"] = _sender_form(request)
    operation = request.POST.get("op", "") if request.method == "POST" else ""
    problems: dict[str, list[str]] = {}
    focus = None
    if request.method == "GET":
        row = _channel_row(project, distribution, "email")
        state = forms.email_state_from_template(row.template if row and row.template else starter("simple"))
    else:
        state, problems, focus = _email_change(forms.email_state_from_post(request.POST), operation, context)

    if operation == "save":
        if not problems:
            sender = _posted_sender(request, context)
            saved, problems, refusal = _save(
                request, distribution, context, template=state.content(), sender=sender
            )
            if refusal is not None:
                return refusal
            if saved and not request.htmx:
                messages.success(request, _saved_alert(context)["message"])
                chosen = context["customer"]
                return redirect(context["editor_url"] + (f"?customer={chosen.public_id}" if chosen else ""))
            sender_fields = ("from_name", "from_address", "reply_to")
            context["sender"]["errors"] = {
                name: problems.pop(name) for name in sender_fields if name in problems
            }
        context["alert"] = (
            _problem_alert() if problems or context["sender"].get("errors") else _saved_alert(context)
        )

    elif operation == "test_send" and not problems:
        _email_test_send(request, state, context)

    preview = previews.email_preview(
        project=project, distribution=distribution, content=state.content(), customer=context["customer"]
    )
    problems = problems or preview.problems
    context.update(_email_views(state, problems))
    context["error_slots"].append(("test_to", context.get("test_errors", [])))
    context.update({"state": state, "preview": preview, "focus": focus})
    return _respond(
        request,
        context,
        "messaging/editor/email.html",
        structural=operation not in ("", "preview", "test_send"),
    )


def _email_test_send(request: HttpRequest, state: forms.EmailState, context: dict[str, Any]) -> None:
    """Send the email as it stands (unsaved) to one address; the outcome goes where the alerts are."""
    to_address = request.POST.get("test_to", "").strip()
    context["test_to"] = to_address
    try:
        outcome = message_template_test_send(
            project=request.project,
            template=state.content(),
            to_address=to_address,
            customer=context["customer"],
        )
    except ValidationError as error:
        problems = error.message_dict if hasattr(error, "error_dict") else {"content": error.messages}
        if "to_address" in problems:
            context["test_errors"] = problems["to_address"]
        else:
            context["alert"] = {
                "level": "error",
                "message": "Fix the fields marked in the editor, then send the test.",
            }
        return
    if isinstance(outcome, Sent):
        context["alert"] = {"level": "success", "message": f"Test sent to {to_address}."}
    else:
        context["alert"] = {"level": "error", "message": f"The test could not be sent: {outcome.error}"}


def _custom_html_refusal(context: dict[str, Any]) -> str:
    return (
        f"Custom HTML is an enterprise-plan feature and this project is on the {context['plan_label']} "
        "plan: build the email from blocks."
    )


def _respond(
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


# --- SMS ----------------------------------------------------------------------------------------------

SMS_START = "Hi {{ customer.first_name | there }}, your code is {{ voucher.code }}. Reply STOP to opt out."


def _sms_editor(request: HttpRequest, distribution: Distribution, context: dict[str, Any]) -> HttpResponse:
    if request.method == "GET":
        row = _channel_row(request.project, distribution, "sms")
        body = str((row.template if row else {}).get("body") or SMS_START)
    else:
        body = request.POST.get("body", "")
    operation = request.POST.get("op", "") if request.method == "POST" else ""
    problems: dict[str, list[str]] = {}
    if operation == "save":
        saved, problems, refusal = _save(request, distribution, context, template={"body": body})
        if refusal is not None:
            return refusal
        if saved and not request.htmx:
            messages.success(request, _saved_alert(context)["message"])
            return redirect(context["editor_url"])
        context["alert"] = _saved_alert(context) if saved else _problem_alert()
    preview = previews.sms_preview(
        project=request.project, distribution=distribution, body=body, customer=context["customer"]
    )
    problems = problems or preview.problems
    context.update(
        {
            "body": _field_view(
                forms.FieldSpec("body", "Text message", "textarea", accepts_variables=True),
                "body",
                body,
                problems.get("body", []) + problems.get("content", []),
            ),
            "preview": preview,
        }
    )
    context["error_slots"] = [("body", context["body"]["errors"])]
    return _respond(request, context, "messaging/editor/sms.html", structural=operation == "save")


# --- Webhook ----------------------------------------------------------------------------------------


def _webhook_editor(
    request: HttpRequest, distribution: Distribution, context: dict[str, Any]
) -> HttpResponse:
    project = request.project
    endpoints = list(WebhookEndpoint.objects.for_project(project).filter(is_active=True).order_by("name"))
    if request.method == "GET":
        row = _channel_row(project, distribution, "webhook")
        settings = dict(row.settings) if row else {}
        template = dict(row.template) if row else {}
        values = {
            "url": settings.get("url", ""),
            "endpoint": settings.get("endpoint", ""),
            "event_name": template.get("event_name")
            or f"distribution.{distribution.trigger_key or 'message'}",
            "raw_payload": bool(template.get("raw_payload", False)),
            "payload_text": json.dumps(
                template.get("payload") or previews.webhook_starting_payload(distribution), indent=2
            ),
        }
    else:
        values = {
            "url": request.POST.get("url", "").strip(),
            "endpoint": request.POST.get("endpoint", ""),
            "event_name": request.POST.get("event_name", ""),
            "raw_payload": "raw_payload" in request.POST,
            "payload_text": request.POST.get("payload", ""),
        }
    payload, payload_problems = forms.payload_from_text(values["payload_text"])
    endpoint = next((e for e in endpoints if e.public_id == values["endpoint"]), None)
    target_url = endpoint.url if endpoint else values["url"]
    operation = request.POST.get("op", "") if request.method == "POST" else ""
    problems: dict[str, list[str]] = {"payload": payload_problems} if payload_problems else {}
    if values["endpoint"] and endpoint is None:
        problems["endpoint"] = ["That endpoint is no longer active; choose another or type a URL."]
    if not endpoint and not values["url"] and operation == "save":
        problems["url"] = ["Choose an endpoint or type the URL that receives the webhook."]
    if operation == "save" and not problems:
        settings = {"endpoint": endpoint.public_id} if endpoint else {"url": values["url"]}
        template = {
            "event_name": values["event_name"],
            "payload": payload,
            "raw_payload": values["raw_payload"],
        }
        saved, problems, refusal = _save(request, distribution, context, template=template, settings=settings)
        if refusal is not None:
            return refusal
        if saved and not request.htmx:
            messages.success(request, _saved_alert(context)["message"])
            return redirect(context["editor_url"])
        context["alert"] = _saved_alert(context) if saved else _problem_alert()
    elif operation == "save":
        context["alert"] = _problem_alert()
    if payload is None:
        preview = previews.Preview(problems=problems)
    else:
        preview = previews.webhook_preview(
            project=project,
            distribution=distribution,
            target_url=target_url,
            event_name=values["event_name"],
            payload=payload,
            raw_payload=values["raw_payload"],
            customer=context["customer"],
        )
        for name, found in preview.problems.items():
            problems.setdefault(name, found)
    fields = {
        "url": ("Endpoint URL", "text", "https://… — we create a signed endpoint for it on Save & Send."),
        "event_name": ("Event name (the envelope's type)", "text", ""),
        "payload": ("Payload design (JSON; strings may hold variables)", "textarea", ""),
    }
    context["fields"] = {
        name: _field_view(
            forms.FieldSpec(name, label, widget, help=help_text, accepts_variables=name == "payload"),
            name,
            values["payload_text"] if name == "payload" else values[name],
            problems.get(name, []),
        )
        for name, (label, widget, help_text) in fields.items()
    }
    context.update(
        {
            "endpoints": endpoints,
            "endpoint": values["endpoint"],
            "endpoint_errors": problems.get("endpoint", []),
            "raw_payload": values["raw_payload"],
            "preview": preview,
            "error_slots": [
                (name, problems.get(name, [])) for name in ("url", "event_name", "payload", "endpoint")
            ],
        }
    )
    return _respond(request, context, "messaging/editor/webhook.html", structural=operation == "save")


# --- Mailchimp and Braze ------------------------------------------------------------------------------


def _integration_editor(
    request: HttpRequest, distribution: Distribution, context: dict[str, Any]
) -> HttpResponse:
    kind = context["kind"]
    fields_key = "merge_fields" if kind == "mailchimp" else "attributes"
    label = "merge field" if kind == "mailchimp" else "attribute"
    if request.method == "GET":
        row = _channel_row(request.project, distribution, kind)
        template = dict(row.template) if row and row.template else {}
        lines = forms.lines_from_fields(template.get(fields_key)) or (
            "CODE = {{ voucher.code }}\nFNAME = {{ customer.first_name }}"
            if kind == "mailchimp"
            else "promo_code = {{ voucher.code }}\npromo_campaign = {{ campaign.name }}"
        )
        status = template.get("status_if_new", "transactional")
    else:
        lines = request.POST.get("fields", "")
        status = request.POST.get("status_if_new", "transactional")
    fields, line_problems = forms.fields_from_lines(
        lines, label=label.upper() if kind == "mailchimp" else label
    )
    content: dict[str, Any] = {fields_key: fields}
    if kind == "mailchimp":
        content["status_if_new"] = status
    operation = request.POST.get("op", "") if request.method == "POST" else ""
    problems: dict[str, list[str]] = {fields_key: line_problems} if line_problems else {}
    if operation == "save":
        if not problems:
            saved, problems, refusal = _save(request, distribution, context, template=content)
            if refusal is not None:
                return refusal
            if saved and not request.htmx:
                messages.success(request, _saved_alert(context)["message"])
                return redirect(context["editor_url"])
            context["alert"] = _saved_alert(context) if saved else _problem_alert()
        else:
            context["alert"] = _problem_alert()
    preview = previews.integration_preview(
        project=request.project,
        distribution=distribution,
        kind=kind,
        content=content,
        customer=context["customer"],
    )
    problems = problems or preview.problems
    field_errors = problems.get(fields_key, []) + problems.get("content", [])
    context.update(
        {
            "fields_field": _field_view(
                forms.FieldSpec(
                    "fields",
                    "Merge fields" if kind == "mailchimp" else "Custom attributes",
                    "textarea",
                    help=f"One {label} a line: NAME = value, where the value may hold variables.",
                    accepts_variables=True,
                ),
                "fields",
                lines,
                field_errors,
            ),
            "status_if_new": status,
            "status_errors": problems.get("status_if_new", []),
            "statuses": ("transactional", "subscribed", "pending"),
            "preview": preview,
            "error_slots": [("fields", field_errors), ("status_if_new", problems.get("status_if_new", []))],
        }
    )
    return _respond(request, context, "messaging/editor/integration.html", structural=operation == "save")


# --- The customer picker ----------------------------------------------------------------------------


@membership_required
@require_GET
def customer_picker(request: HttpRequest, public_id: str, kind: str) -> HttpResponse:
    """The picker's list for a search: the chosen customer first, then the newest matches."""
    distribution = access_distribution(request, public_id)
    if catalogue.channel(kind) is None:
        raise Http404("No such channel.")
    context = _base_context(request, distribution, kind)
    context["picker"] = _picker_customers(
        request.project, request.GET.get("q", "").strip()[:200], context["customer"]
    )
    context["q"] = request.GET.get("q", "")
    return render(request, "messaging/editor/page.html#picker_results", context)
