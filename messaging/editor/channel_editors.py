"""The SMS editor (with its segment counter), the webhook payload designer, and the Mailchimp / Braze
field editors, each previewing what the customer or the receiver gets."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from distributions.models import Distribution
from messaging.editor import forms, previews
from messaging.editor.pages import channel_row, field_view, problem_alert, respond, save_template, saved_alert
from webhooks_out.models import WebhookEndpoint

# --- SMS ----------------------------------------------------------------------------------------------

SMS_START = "Hi {{ customer.first_name | there }}, your code is {{ voucher.code }}. Reply STOP to opt out."


def sms_editor(request: HttpRequest, distribution: Distribution, context: dict[str, Any]) -> HttpResponse:
    if request.method == "GET":
        row = channel_row(request.project, distribution, "sms")
        body = str((row.template if row else {}).get("body") or SMS_START)
    else:
        body = request.POST.get("body", "")
    operation = request.POST.get("op", "") if request.method == "POST" else ""
    problems: dict[str, list[str]] = {}
    if operation == "save":
        saved, problems, refusal = save_template(request, distribution, context, template={"body": body})
        if refusal is not None:
            return refusal
        if saved and not request.htmx:
            messages.success(request, saved_alert(context)["message"])
            return redirect(context["editor_url"])
        context["alert"] = saved_alert(context) if saved else problem_alert()
    preview = previews.sms_preview(
        project=request.project, distribution=distribution, body=body, customer=context["customer"]
    )
    problems = problems or preview.problems
    context.update(
        {
            "body": field_view(
                forms.FieldSpec("body", "Text message", "textarea", accepts_variables=True),
                "body",
                body,
                problems.get("body", []) + problems.get("content", []),
            ),
            "preview": preview,
        }
    )
    context["error_slots"] = [("body", context["body"]["errors"])]
    return respond(request, context, "messaging/editor/sms.html", structural=operation == "save")


# --- Webhook ----------------------------------------------------------------------------------------


def webhook_editor(request: HttpRequest, distribution: Distribution, context: dict[str, Any]) -> HttpResponse:
    project = request.project
    endpoints = list(WebhookEndpoint.objects.for_project(project).filter(is_active=True).order_by("name"))
    if request.method == "GET":
        row = channel_row(project, distribution, "webhook")
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
        saved, problems, refusal = save_template(
            request, distribution, context, template=template, settings=settings
        )
        if refusal is not None:
            return refusal
        if saved and not request.htmx:
            messages.success(request, saved_alert(context)["message"])
            return redirect(context["editor_url"])
        context["alert"] = saved_alert(context) if saved else problem_alert()
    elif operation == "save":
        context["alert"] = problem_alert()
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
        name: field_view(
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
    return respond(request, context, "messaging/editor/webhook.html", structural=operation == "save")


# --- Mailchimp and Braze ------------------------------------------------------------------------------


def integration_editor(
    request: HttpRequest, distribution: Distribution, context: dict[str, Any]
) -> HttpResponse:
    kind = context["kind"]
    fields_key = "merge_fields" if kind == "mailchimp" else "attributes"
    label = "merge field" if kind == "mailchimp" else "attribute"
    if request.method == "GET":
        row = channel_row(request.project, distribution, kind)
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
            saved, problems, refusal = save_template(request, distribution, context, template=content)
            if refusal is not None:
                return refusal
            if saved and not request.htmx:
                messages.success(request, saved_alert(context)["message"])
                return redirect(context["editor_url"])
            context["alert"] = saved_alert(context) if saved else problem_alert()
        else:
            context["alert"] = problem_alert()
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
            "fields_field": field_view(
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
    return respond(request, context, "messaging/editor/integration.html", structural=operation == "save")
