"""What each wizard step shows: the context its template renders, built from the stored draft (or
from a bound form when the step comes back with errors), plus the paths the steps link to."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from campaigns.models import Campaign
from distributions import catalogue, services
from distributions.catalogue import Mode, ParameterKind
from distributions.channels import _email_content
from distributions.models import Distribution, DistributionChannel, DistributionStatus
from distributions.preflight import distribution_preflight
from distributions.selectors import free_code_count
from distributions.wizard import pickers, steps
from distributions.wizard.forms import (
    ActionForm,
    NewCustomerForm,
    TriggerForm,
    ValidationRuleForm,
    WebhookSettingsForm,
)
from messaging.channels import get_channel
from messaging.email.lint import template_lint
from messaging.limits import send_rate
from segments.forms import SegmentForm
from segments.models import Segment
from segments.selectors import segment_get

PAGE = "distributions/wizard/wizard.html"


def step_url(distribution: Distribution | None, step: str) -> str:
    if distribution is None:
        return reverse("distributions:wizard:new")
    return reverse("distributions:wizard:step", args=[distribution.public_id, step])


def editor_url(distribution: Distribution, kind: str) -> str:
    """The message editor of one channel (its own app; the path is fixed even before it is there)."""
    try:
        return reverse("messaging_editor:channel", args=[distribution.public_id, kind])
    except NoReverseMatch:
        return f"/distributions/{distribution.public_id}/channels/{kind}/editor/"


def stepper(distribution: Distribution | None, current: str) -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "number": number,
            "label": steps.STEP_LABELS[key],
            "url": step_url(distribution, key) if distribution is not None or key == "trigger" else "",
            "is_current": key == current,
        }
        for number, key in enumerate(steps.STEPS, start=1)
    ]


def segment_of(request: HttpRequest, public_id: str) -> Segment | None:
    return segment_get(project=request.project, identifier=public_id) if public_id else None


def trigger_context(
    request: HttpRequest, distribution: Distribution | None, form: TriggerForm | None
) -> dict:
    project = request.project
    trigger = (
        form.trigger
        if form is not None
        else catalogue.trigger(distribution.trigger_key if distribution else "")
    )
    if form is None:
        initial: dict[str, Any] = {}
        if distribution is not None:
            audience = distribution.audience or {}
            initial = {
                "name": distribution.name,
                "trigger": distribution.trigger_key,
                **(distribution.trigger_params or {}),
                "audience_type": audience.get("type", ""),
                "customer": audience.get("customer", ""),
                "segment": audience.get("segment", "")
                or (distribution.trigger_params or {}).get("segment", ""),
                "live_from": distribution.live_from,
                "live_until": distribution.live_until,
            }
        form = TriggerForm(initial=initial, trigger=trigger)

    def value(name: str) -> str:
        return str(form[name].value() or "") if name in form.fields else ""

    def errors(name: str) -> list[str]:
        return list(form.errors.get(name, [])) if form.is_bound else []

    parameter_pickers = []
    event_names = []
    if trigger is not None:
        for parameter in trigger.parameters:
            if parameter.kind == ParameterKind.CUSTOM_EVENT_NAME:
                event_names = pickers.options(project, parameter.kind)
                continue
            parameter_pickers.append(
                pickers.picker_for(project, parameter, value(parameter.name), errors(parameter.name))
            )
    audience_pickers = {}
    if trigger is not None and trigger.mode == Mode.MANUAL:
        for name, kind, label in (
            ("customer", ParameterKind.CUSTOMER, "Customer"),
            ("segment", ParameterKind.SEGMENT, "Segment"),
        ):
            audience_pickers[name] = pickers.Picker(
                name=name,
                label=label,
                kind=str(kind),
                options=pickers.options(project, kind, selected=value(name)),
                selected=value(name),
                errors=errors(name),
            )
    chosen_segment = segment_of(request, value("segment"))
    return {
        "form": form,
        "trigger": trigger,
        "categories": [(str(c), catalogue.CATEGORY_LABELS[c]) for c in catalogue.Category],
        "triggers": catalogue.TRIGGERS,
        "selected_trigger": trigger.key if trigger else "",
        "parameter_pickers": parameter_pickers,
        "audience_pickers": audience_pickers,
        "event_names": [name for name, _ in event_names],
        "chosen_segment": chosen_segment,
        "rule_form": ValidationRuleForm(),
        "segment_form": SegmentForm(prefix="segment"),
        "customer_form": NewCustomerForm(),
    }


def audience_size(request: HttpRequest, distribution: Distribution) -> int | None:
    if distribution.kind != "manual":
        return None
    return distribution_preflight(project=request.project, distribution=distribution).audience.size


def code_warning(request: HttpRequest, distribution: Distribution, campaign_id: str) -> str:
    """Warn when a manual send needs more codes than the campaign has free (auto-update ones grow)."""
    campaign = (
        Campaign.objects.for_project(request.project).filter(public_id=campaign_id).first()
        if campaign_id
        else None
    )
    if campaign is None or campaign.type == Campaign.Type.AUTO_UPDATE:
        return ""
    size = audience_size(request, distribution)
    free = free_code_count(project=request.project, campaign=campaign)
    if size is not None and free < size:
        return (
            f"{campaign.name} has {free} free code{'s' if free != 1 else ''} for an audience of {size}: "
            f"{size - free} customer{'s' if size - free != 1 else ''} would get no code. "
            "Generate more codes first."
        )
    return ""


def action_context(request: HttpRequest, distribution: Distribution, form: ActionForm | None) -> dict:
    if form is None:
        form = ActionForm(
            initial={"action": distribution.action_key, **(distribution.action_params or {})},
            trigger_key=distribution.trigger_key,
            action_key=distribution.action_key,
        )
    action = form.action
    action_pickers = []
    warning = ""
    if action is not None:
        for parameter in action.parameters:
            selected = str(form[parameter.name].value() or "")
            errors = list(form.errors.get(parameter.name, [])) if form.is_bound else []
            action_pickers.append(pickers.picker_for(request.project, parameter, selected, errors))
            if parameter.kind == ParameterKind.CAMPAIGN:
                warning = code_warning(request, distribution, selected)
    return {
        "form": form,
        "actions": form.actions,
        "action": action,
        "action_pickers": action_pickers,
        "code_warning": warning,
    }


def channels_context(
    request: HttpRequest,
    distribution: Distribution,
    webhook_form: WebhookSettingsForm | None = None,
    channel_errors: list[str] | None = None,
) -> dict:
    """The added channels with their settings (a bound form when it came back with errors) and the
    channels that can still be added."""
    rows = list(DistributionChannel.objects.for_project(request.project).filter(distribution=distribution))
    added = {row.kind for row in rows}
    allowed = catalogue.channels_for(distribution.trigger_key, distribution.action_key)
    channels = []
    for row in rows:
        found = catalogue.channel(row.kind)
        settings_form = None
        if row.kind == "webhook":
            settings_form = webhook_form or WebhookSettingsForm(
                initial={"url": row.settings.get("url", "")}, prefix="webhook"
            )
        channels.append(
            {
                "kind": row.kind,
                "label": found.label if found else row.kind,
                "description": found.description if found else "",
                "template": row.template,
                "settings_form": settings_form,
                "editor_url": editor_url(distribution, row.kind),
                "endpoint": row.settings.get("endpoint", ""),
            }
        )
    return {
        "channels": channels,
        "addable": [c for c in allowed if c.key not in added],
        "has_action": bool(distribution.action_key),
        "channel_errors": channel_errors or [],
    }


def template_findings(request: HttpRequest, distribution: Distribution) -> list[dict[str, str]]:
    """The template lint of every channel, as Save & Send would see the templates."""
    action = catalogue.action(distribution.action_key)
    carries_code = bool(action and action.carries_code)
    findings = []
    for row in DistributionChannel.objects.for_project(request.project).filter(distribution=distribution):
        content = dict(row.template or {})
        if row.kind == "email":
            try:
                content = get_channel("email").validate_content(
                    project=request.project, content=_email_content(content)
                )
            except (ValidationError, ValueError) as error:
                findings.append(
                    {"channel": row.kind, "level": "error", "message": f"The email cannot be built: {error}"}
                )
                continue
        if row.kind == "webhook":
            content = {"payload": content.get("payload") or {}}
        for finding in template_lint(channel=row.kind, content=content, carries_code=carries_code):
            findings.append({"channel": row.kind, "level": finding.level, "message": finding.message})
    return findings


def delivery_estimate(distribution: Distribution, audience_size: int | None, channels: list[str]) -> str:
    if distribution.kind != "manual":
        return "Each message goes out within seconds of its event."
    if not audience_size:
        return "Nothing to deliver yet: the audience is empty."
    slowest = 0.0
    for kind in channels:
        rate = send_rate(kind)
        if rate is not None:
            slowest = max(slowest, audience_size / rate.per_second)
    start = services.SEND_DELAY.seconds // 60
    if slowest < 60:
        return f"Sending starts {start} minutes after Save & Send and takes under a minute."
    return f"Sending starts {start} minutes after Save & Send and takes about {round(slowest / 60)} minutes."


def summary_context(request: HttpRequest, distribution: Distribution, missing: list | None = None) -> dict:
    channels = list(distribution.channels.values_list("kind", flat=True))
    preflight = distribution_preflight(project=request.project, distribution=distribution)
    is_draft = distribution.status == DistributionStatus.DRAFT
    findings = template_findings(request, distribution) if is_draft else []
    return {
        "sentence": steps.configuration_in_words(request.project, distribution, channels),
        "preflight": preflight,
        "lint": findings,
        "missing": missing,
        "estimate": delivery_estimate(distribution, preflight.audience.size, channels),
        "seconds_left": max(int((distribution.send_at - timezone.now()).total_seconds()), 0)
        if distribution.status == DistributionStatus.SCHEDULED and distribution.send_at
        else None,
    }
