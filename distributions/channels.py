"""From a distribution's channels to messaging's template versions (and, for webhooks, an endpoint).

Save & Send, and every later edit of a live or scheduled distribution, saves a new immutable
template version per channel: messages already created keep rendering the version they were made
with, later ones render the edit. A channel messaging cannot deliver yet (email and SMS arrive with
the delivery issue) gets no template and no messages.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from distributions.models import Distribution, DistributionChannel
from distributions.validation import Problem
from messaging.channels import CHANNEL_CLASSES
from messaging.services import message_template_create
from tenancy.models import Project
from webhooks_out.models import WebhookEndpoint
from webhooks_out.services import webhook_endpoint_create

# What a webhook carries when the marketer designed nothing: who, and what the action gives them.
BASE_PAYLOAD: dict[str, Any] = {
    "customer": {
        "id": "{{customer.id}}",
        "source_id": "{{customer.source_id}}",
        "name": "{{customer.name}}",
        "email": "{{customer.email}}",
    },
}
ACTION_PAYLOADS: dict[str, dict[str, Any]] = {
    "publish_codes": {
        "voucher": {"code": "{{voucher.code}}"},
        "campaign": {"id": "{{campaign.id}}", "name": "{{campaign.name}}"},
        "publication": {"id": "{{publication.id}}"},
    },
    "published_code_message": {
        "voucher": {"code": "{{voucher.code}}"},
        "campaign": {"id": "{{campaign.id}}"},
    },
    "notify_promotion": {
        "promotion_tier": {"name": "{{promotion_tier.name}}", "banner": "{{promotion_tier.banner}}"}
    },
    "credits_message": {"gift": {"credits_added": "{{gift.credits_added}}", "balance": "{{gift.balance}}"}},
    "points_message": {
        "loyalty": {"points_added": "{{loyalty.points_added}}", "balance": "{{loyalty.points_balance}}"}
    },
    "reward_message": {"reward": {"name": "{{reward.name}}", "value": "{{reward.value}}"}},
}


def default_payload(action_key: str) -> dict[str, Any]:
    return {**BASE_PAYLOAD, **ACTION_PAYLOADS.get(action_key, {}), "event": {"id": "{{event.id}}"}}


def is_deliverable(kind: str) -> bool:
    """Whether messaging has a channel plug-in for `kind` today."""
    return kind in CHANNEL_CLASSES


def _endpoint(
    project: Project, settings: dict[str, Any], path: str
) -> tuple[WebhookEndpoint | None, Problem | None]:
    endpoint_id = settings.get("endpoint")
    if endpoint_id:
        found = WebhookEndpoint.objects.for_project(project).filter(public_id=endpoint_id).first()
        if found is None:
            return None, Problem(f"{path}.settings.endpoint", f"cannot find webhook endpoint {endpoint_id}")
        return found, None
    url = (settings.get("url") or "").strip()
    existing = WebhookEndpoint.objects.for_project(project).filter(url=url, is_active=True).first()
    if existing is not None:
        return existing, None
    try:
        return webhook_endpoint_create(project=project, url=url, name=url[:200]), None
    except ValidationError as error:
        return None, Problem(f"{path}.settings.url", "; ".join(error.messages))


def _webhook_content(
    project: Project, distribution: Distribution, channel: DistributionChannel, path: str
) -> tuple[dict[str, Any] | None, list[Problem]]:
    endpoint, problem = _endpoint(project, dict(channel.settings or {}), path)
    if problem is not None:
        return None, [problem]
    template = dict(channel.template or {})
    content = {
        "endpoint": endpoint.public_id,
        "event_name": template.get("event_name") or f"distribution.{distribution.trigger_key}",
        "payload": template.get("payload") or default_payload(distribution.action_key),
        "raw_payload": bool(template.get("raw_payload", False)),
    }
    return content, []


def _email_content(template: dict[str, Any]) -> dict[str, Any]:
    """The plain editor's subject and text body as the email channel's content (a design with one
    text block); a design or custom HTML from the message editor goes through as it is."""
    if "design" in template or "custom_html" in template or "body" not in template:
        return template
    body = str(template.pop("body"))
    return {**template, "design": {"body": [{"type": "text", "runs": [{"text": body}]}]}}


def channels_prepare(*, project: Project, distribution: Distribution) -> list[Problem]:
    """Save a template version for each deliverable channel (in the caller's transaction); returns
    the problems found instead (an unreachable endpoint, a payload naming unknown variables)."""
    problems: list[Problem] = []
    rows = list(DistributionChannel.objects.for_project(project).filter(distribution=distribution))
    for index, channel in enumerate(rows):
        path = f".channels[{index}]"
        if not is_deliverable(channel.kind):
            continue
        if channel.kind == "webhook":
            content, found = _webhook_content(project, distribution, channel, path)
        elif channel.kind == "email":
            content, found = _email_content(dict(channel.template or {})), []
        else:
            content, found = dict(channel.template or {}), []
        if found:
            problems.extend(found)
            continue
        try:
            version = message_template_create(project=project, channel=channel.kind, content=content)
        except ValidationError as error:
            problems.extend(
                Problem(f"{path}.template.{name}", "; ".join(messages))
                for name, messages in error.message_dict.items()
            )
            continue
        channel.message_template = version
        channel.save(update_fields=["message_template"])
    return problems
