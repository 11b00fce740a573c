"""Email services beyond saving a template: the project's sender identity, preview and test send."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.core.validators import validate_email
from django.db import transaction

from eventbus.services import publish
from messaging.channels.base import Outcome, Sent
from messaging.channels.email import build_message, classify, message_id_header, sender_of
from messaging.email.compiler import CompiledEmail, RenderedEmail, build_email_content
from messaging.links import unsubscribe_url
from messaging.models import MessageTemplate
from messaging.rendering import RenderContext
from tenancy.ids import new_public_id
from tenancy.models import Project

SENDER_UPDATED = "project.email_sender.updated"

# What a preview without a chosen customer shows.
SAMPLE_VARIABLES = {
    "voucher.code": "SAMPLE-CODE-1234",
    "voucher.expiration_date": "2026-12-31",
    "voucher.discount": "10%",
    "campaign.name": "Sample campaign",
    "promotion_tier.name": "10% off your order",
    "gift.credits_added": "25.00",
    "gift.balance": "50.00",
    "loyalty.points_added": "120",
    "loyalty.points_balance": "480",
    "loyalty.tier": "Gold",
    "reward.name": "Free coffee",
    "reward.value": "1",
    "referral.reward": "5.00 credit",
}


def _sample_customer(project: Project) -> Any:
    from customers.models import Customer

    return Customer(
        project=project,
        public_id="cust_sample",
        source_id="sample",
        name="Ada Lovelace",
        email="ada@example.com",
        metadata={},
    )


@transaction.atomic
def project_email_sender_update(
    *, project: Project, from_name: str, from_address: str, reply_to: str = ""
) -> Project:
    """Set who the project's emails come from; addresses are checked, the name kept to one line."""
    problems: dict[str, list[str]] = {}
    from_name = (from_name or "").strip()
    if len(from_name) > 100 or any(c in from_name for c in '\r\n<>"'):
        problems["from_name"] = ["One line of at most 100 characters, without < > or quotes."]
    for field, value in (("from_address", from_address), ("reply_to", reply_to)):
        if field == "reply_to" and not value:
            continue
        try:
            validate_email(value)
        except ValidationError:
            problems[field] = [f"{value!r} is not a valid email address."]
    if problems:
        raise ValidationError(problems)
    locked = Project.objects.select_for_update().get(pk=project.pk)
    locked.email_from_name, locked.email_from_address, locked.email_reply_to = (
        from_name,
        from_address,
        reply_to,
    )
    locked.save(update_fields=["email_from_name", "email_from_address", "email_reply_to"])
    publish(
        locked,
        SENDER_UPDATED,
        refs={"project": locked.public_id},
        data={"from_name": from_name, "from_address": from_address, "reply_to": reply_to},
    )
    project.email_from_name, project.email_from_address, project.email_reply_to = (
        from_name,
        from_address,
        reply_to,
    )
    return locked


def _compiled(project: Project, template: MessageTemplate | dict[str, Any]) -> CompiledEmail:
    if isinstance(template, MessageTemplate):
        if template.project_id != project.pk or template.channel != "email":
            raise ValidationError({"template": ["Not an email template of this project."]})
        return CompiledEmail(template.content)
    try:
        return CompiledEmail(build_email_content(project=project, content=dict(template)))
    except ValueError as error:
        raise ValidationError(getattr(error, "problems", str(error))) from None


def message_template_preview(
    *,
    project: Project,
    template: MessageTemplate | dict[str, Any],
    customer: Any = None,
    variables: dict[str, Any] | None = None,
) -> RenderedEmail:
    """The email as `customer` (or a sample customer) would get it: subject, preheader, HTML, text.

    `template` is a saved version or unsaved content (checked as a save would, nothing stored).
    """
    if customer is not None and customer.project_id != project.pk:
        raise ValidationError({"customer": ["Not a customer of this project."]})
    compiled = _compiled(project, template)
    who = customer if customer is not None else _sample_customer(project)
    context = RenderContext(
        customer=who,
        variables={**SAMPLE_VARIABLES, "message.id": "msg_preview", **(variables or {})},
        project=project,
        channel="email",
    )
    return compiled.render(context)


def message_template_test_send(
    *,
    project: Project,
    template: MessageTemplate | dict[str, Any],
    to_address: str,
    customer: Any = None,
) -> Outcome:
    """Send the preview to one address (the subject marked as a test) with the project's sender."""
    try:
        validate_email(to_address)
    except ValidationError:
        raise ValidationError({"to_address": [f"{to_address!r} is not a valid email address."]}) from None
    rendered = message_template_preview(project=project, template=template, customer=customer)
    from_header, reply_to = sender_of(project)
    public_id = new_public_id("msgtest", 20)
    message = build_message(
        RenderedEmail(f"[Test] {rendered.subject}", rendered.preheader, rendered.html, rendered.text),
        to=to_address,
        from_header=from_header,
        reply_to=reply_to,
        message_id=message_id_header(public_id, from_header),
        unsubscribe=unsubscribe_url(project, customer.public_id if customer else "cust_sample", "email"),
    )
    try:
        get_connection(fail_silently=False).send_messages([message])
    except Exception as error:  # the outcome says what the server answered
        return classify(error)
    return Sent(provider_id=message.extra_headers["Message-ID"])
