"""The email editor: blocks, the fixed sections, subject, preheader and sender, custom HTML on the
enterprise plan, a test send; previewed through the same compiler and renderer as delivery."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from distributions.models import Distribution
from messaging.channels.base import Sent
from messaging.editor import forms, previews
from messaging.editor.pages import channel_row, field_view, problem_alert, respond, save_template, saved_alert
from messaging.email.design import SOCIAL_NETWORKS, normalise_design
from messaging.email.services import message_template_test_send
from messaging.email.starters import starter
from tenancy.models import Project


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
            field_view(
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
                    field_view(
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
        name: field_view(
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


def email_editor(request: HttpRequest, distribution: Distribution, context: dict[str, Any]) -> HttpResponse:
    project = request.project
    context["custom_html_allowed"] = project.plan == Project.Plan.ENTERPRISE
    context["plan_label"] = project.get_plan_display()
    context["sender"] = _sender_form(request)
    operation = request.POST.get("op", "") if request.method == "POST" else ""
    problems: dict[str, list[str]] = {}
    focus = None
    if request.method == "GET":
        row = channel_row(project, distribution, "email")
        state = forms.email_state_from_template(row.template if row and row.template else starter("simple"))
    else:
        state, problems, focus = _email_change(forms.email_state_from_post(request.POST), operation, context)

    if operation == "save":
        if not problems:
            sender = _posted_sender(request, context)
            saved, problems, refusal = save_template(
                request, distribution, context, template=state.content(), sender=sender
            )
            if refusal is not None:
                return refusal
            if saved and not request.htmx:
                messages.success(request, saved_alert(context)["message"])
                chosen = context["customer"]
                return redirect(context["editor_url"] + (f"?customer={chosen.public_id}" if chosen else ""))
            sender_fields = ("from_name", "from_address", "reply_to")
            context["sender"]["errors"] = {
                name: problems.pop(name) for name in sender_fields if name in problems
            }
        context["alert"] = (
            problem_alert() if problems or context["sender"].get("errors") else saved_alert(context)
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
    return respond(
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
