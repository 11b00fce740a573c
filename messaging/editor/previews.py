"""What each editor shows on the right: the message as the chosen (or sample) customer gets it.

Every preview goes through the code that delivery uses: the email is compiled by
`build_email_content` and rendered by `message_template_preview` (the preview API's path), SMS and
payloads by the one renderer, the webhook wrapped in the same envelope the channel sends. Nothing is
saved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from distributions import catalogue
from distributions.channels import default_payload
from distributions.models import Distribution
from messaging.channels import get_channel
from messaging.channels.mailchimp import member_hash
from messaging.channels.sms import sms_template_check
from messaging.email.compiler import EmailContentError, build_email_content
from messaging.email.lint import LintFinding, template_lint
from messaging.email.services import SAMPLE_VARIABLES, _sample_customer, message_template_preview
from messaging.models import MessageTemplate
from messaging.rendering import RenderContext, TemplateError, compile_payload, compile_text
from messaging.sms import SmsLength, sms_length
from tenancy.models import Project
from webhooks_out.envelope import envelope

PREVIEW_VARIABLES = {
    **SAMPLE_VARIABLES,
    "message.id": "msg_preview",
    "campaign.id": "camp_sample",
    "publication.id": "pub_sample",
    "event.id": "evt_preview",
    "order.id": "ord_sample",
    "order.amount": "120.00",
    "segment.name": "Sample segment",
}


@dataclass
class Preview:
    """One editor's preview: what to show, the lint, and the problems that stop it (by field)."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    lint: list[LintFinding] = field(default_factory=list)
    subject: str = ""
    preheader: str = ""
    html: str = ""
    text: str = ""
    length: SmsLength | None = None
    rendered_length: SmsLength | None = None
    request_line: str = ""
    body_json: str = ""

    @property
    def is_valid(self) -> bool:
        return not self.problems


def carries_code(distribution: Distribution) -> bool:
    action = catalogue.action(distribution.action_key)
    return bool(action and action.carries_code)


def _context(project: Project, customer: Any, channel: str) -> RenderContext:
    return RenderContext(
        customer=customer if customer is not None else _sample_customer(project),
        variables=PREVIEW_VARIABLES,
        project=project,
        channel=channel,
    )


def _problems_of(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {name: list(messages) for name, messages in error.message_dict.items()}
    return {"content": list(error.messages)}


def email_preview(
    *, project: Project, distribution: Distribution, content: dict[str, Any], customer: Any
) -> Preview:
    try:
        built = build_email_content(project=project, content=content)
    except EmailContentError as error:
        return Preview(problems=error.problems)
    template = MessageTemplate(project=project, channel="email", content=built)
    rendered = message_template_preview(
        project=project, template=template, customer=customer, variables=PREVIEW_VARIABLES
    )
    return Preview(
        lint=template_lint(channel="email", content=built, carries_code=carries_code(distribution)),
        subject=rendered.subject,
        preheader=rendered.preheader,
        html=rendered.html,
        text=rendered.text,
    )


def sms_preview(*, project: Project, distribution: Distribution, body: str, customer: Any) -> Preview:
    try:
        get_channel("sms").validate_content(project=project, content={"body": body})
        report = sms_template_check(body)
    except ValidationError as error:
        preview = Preview(problems=_problems_of(error))
        try:  # the counter still counts what it can: a long text is exactly when it matters
            preview.length = sms_template_check(body).length
        except TemplateError:
            pass
        return preview
    text = compile_text(body).render(_context(project, customer, "sms"))
    lint = template_lint(channel="sms", content={"body": body}, carries_code=carries_code(distribution))
    lint += [
        LintFinding("warning", "sms", warning) for warning in report.warnings if "fallback" not in warning
    ]
    return Preview(lint=lint, text=text, length=report.length, rendered_length=sms_length(text))


def webhook_starting_payload(distribution: Distribution) -> dict[str, Any]:
    return default_payload(distribution.action_key)


def webhook_preview(
    *,
    project: Project,
    distribution: Distribution,
    target_url: str,
    event_name: str,
    payload: Any,
    raw_payload: bool,
    customer: Any,
) -> Preview:
    problems: dict[str, list[str]] = {}
    if not event_name.strip() or len(event_name) > 100:
        problems["event_name"] = ["An event name of 1 to 100 characters is required."]
    try:
        compiled = compile_payload(payload)
    except TemplateError as error:
        problems["payload"] = error.problems
    if problems:
        return Preview(problems=problems)
    data = compiled.render(_context(project, customer, "webhook"))
    body = (
        data
        if raw_payload
        else envelope(
            send_out_id="msg_preview",
            project_public_id=project.public_id,
            created_at=timezone.now(),
            event_name=event_name.strip(),
            data=data,
            source_id=distribution.public_id,
            source_object="distribution",
            target_url=target_url,
            event={"id": "evt_preview", "type": event_name.strip()},
        )
    )
    return Preview(
        lint=template_lint(
            channel="webhook", content={"payload": payload}, carries_code=carries_code(distribution)
        ),
        request_line=f"POST {target_url or '(your endpoint)'}",
        body_json=json.dumps(body, indent=2, ensure_ascii=False, default=str),
    )


def integration_preview(
    *, project: Project, distribution: Distribution, kind: str, content: dict[str, Any], customer: Any
) -> Preview:
    """The Mailchimp member upsert or the Braze `users/track` call this channel makes per customer."""
    try:
        normalised = get_channel(kind).validate_content(project=project, content=content)
    except ValidationError as error:
        return Preview(problems=_problems_of(error))
    fields_key = "merge_fields" if kind == "mailchimp" else "attributes"
    context = _context(project, customer, kind)
    values = compile_payload(normalised[fields_key]).render(context)
    who = context.customer
    if kind == "mailchimp":
        email = (who.email or "").strip()
        line = f"PUT /3.0/lists/(your list)/members/{member_hash(email) if email else '(no email: skipped)'}"
        body: Any = {
            "email_address": email,
            "status_if_new": normalised["status_if_new"],
            "merge_fields": {name: "" if v is None else str(v) for name, v in values.items()},
        }
    else:
        line = "POST /users/track"
        body = {"attributes": [{"external_id": who.source_id or who.public_id, **values}]}
    return Preview(
        lint=template_lint(channel=kind, content=normalised, carries_code=carries_code(distribution)),
        request_line=line,
        body_json=json.dumps(body, indent=2, ensure_ascii=False, default=str),
    )
