"""The one write of the message editor: a channel's template (and settings) saved into its distribution.

It writes through `distribution_update`, so the distribution's own rules apply unchanged (drafts take
anything valid, a live one must stay complete, one that started sending refuses), and the content is
first checked the way messaging checks it when the template version is made, so a design the editor
accepted is one Save & Send can use.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from distributions.models import Distribution, DistributionChannel
from distributions.services import distribution_update
from messaging.channels import get_channel
from messaging.email.compiler import EmailContentError, build_email_content
from messaging.email.services import project_email_sender_update
from messaging.rendering import TemplateError, compile_payload
from tenancy.models import Project


def _checked_template(project: Project, kind: str, template: dict[str, Any]) -> dict[str, Any]:
    """The template as the channel stores it on the distribution; `ValidationError` by field."""
    if kind == "email":
        try:
            built = build_email_content(project=project, content=template)
        except EmailContentError as error:
            raise ValidationError(error.problems) from None
        # The distribution keeps the design; compiling again happens when a version is made.
        return {key: value for key, value in built.items() if key != "compiled"}
    if kind == "webhook":
        problems: dict[str, list[str]] = {}
        event_name = template.get("event_name", "")
        if not isinstance(event_name, str) or not event_name.strip() or len(event_name) > 100:
            problems["event_name"] = ["An event name of 1 to 100 characters is required."]
        try:
            compile_payload(template.get("payload", {}))
        except TemplateError as error:
            problems["payload"] = error.problems
        if problems:
            raise ValidationError(problems)
        return {**template, "event_name": event_name.strip()}
    normalised = get_channel(kind).validate_content(project=project, content=dict(template))
    if kind == "sms":  # the length report is recomputed whenever a version is made
        return {"body": normalised["body"]}
    return normalised


@transaction.atomic
def distribution_channel_template_save(
    *,
    project: Project,
    distribution: Distribution,
    kind: str,
    template: dict[str, Any],
    settings: dict[str, Any] | None = None,
    sender: dict[str, str] | None = None,
    by: AbstractBaseUser | None = None,
) -> Distribution:
    """Save one channel's template (and settings, when given) into the distribution, adding the
    channel if it is not there yet; the email sender (a project setting) too when given.

    Raises `ValidationError` (by field) for content that cannot be used and `DistributionRefused`
    when the distribution may not change; either way nothing is saved.
    """
    checked = _checked_template(project, kind, template)
    # Locked before the channels are read, so two editors of two channels cannot undo each other.
    locked = Distribution.objects.for_project(project).select_for_update().get(pk=distribution.pk)
    rows = list(DistributionChannel.objects.for_project(project).filter(distribution=locked))
    channels = [
        {"kind": row.kind, "settings": dict(row.settings), "template": dict(row.template)} for row in rows
    ]
    entry = next((c for c in channels if c["kind"] == kind), None)
    if entry is None:
        entry = {"kind": kind, "settings": {}, "template": {}}
        channels.append(entry)
    entry["template"] = checked
    if settings is not None:
        entry["settings"] = settings
    updated = distribution_update(project=project, distribution=locked, fields={"channels": channels}, by=by)
    if sender is not None:
        project_email_sender_update(project=project, **sender)
    return updated
