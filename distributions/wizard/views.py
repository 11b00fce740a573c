"""The wizard's views: one page per step (an htmx partial when asked by htmx), each POST saving the
step into the distribution through `distributions.services`.

Status codes an htmx swap relies on (the page's htmx config swaps 409 and 422 too): 422 for a step
with errors next to its fields, 409 for a distribution that can no longer be edited.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, push_url

from campaigns.services import CampaignRefused
from campaigns.validation_rules.services import validation_rule_create
from customers.services import customer_upsert
from distributions import catalogue, services
from distributions.catalogue import Mode, ParameterKind
from distributions.channels import _email_content
from distributions.models import Distribution, DistributionChannel, DistributionStatus
from distributions.preflight import distribution_preflight
from distributions.selectors import free_code_count
from distributions.services import DistributionRefused
from distributions.validation import Problem
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
from segments.filters import FilterError
from segments.forms import SegmentForm
from segments.models import Segment
from segments.selectors import segment_get
from segments.services import segment_create, segment_keep_draft
from tenancy.access import access_distribution, membership_required

PAGE = "distributions/wizard/wizard.html"


def wizard_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Every wizard endpoint changes a distribution or serves the one who does: marketers and up only
    (viewers get a 403), times typed and shown in the project's time zone."""

    @membership_required(can_edit=True)
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with timezone.override(zoneinfo.ZoneInfo(request.project.timezone)):
            return view(request, *args, **kwargs)

    return wrapper


# --- Paths and problems ------------------------------------------------------------------------


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


PROBLEM_FIELDS = {
    ".name": "name",
    ".trigger.key": "trigger",
    ".audience": "audience_type",
    ".audience.type": "audience_type",
    ".audience.customer": "customer",
    ".audience.segment": "segment",
    ".live_from": "live_from",
    ".live_until": "live_until",
    ".action.key": "action",
}


def _form_field(problem: Problem) -> str | None:
    if problem.field in PROBLEM_FIELDS:
        return PROBLEM_FIELDS[problem.field]
    for prefix in (".trigger.params.", ".action.params."):
        if problem.field.startswith(prefix):
            return problem.field.removeprefix(prefix)
    return None


def _put_problems(form, problems: list[Problem], fallback: str) -> None:
    """The service's problems next to the fields they name (the rest at the top of the step)."""
    for problem in problems:
        name = _form_field(problem)
        form.add_error(
            name if name in form.fields else None, problem.message if name in form.fields else str(problem)
        )
    if not problems:
        form.add_error(None, fallback)


def _locked_message(distribution: Distribution) -> str:
    if distribution.has_started_sending:
        started = distribution.sending_started_at
        when = f" at {timezone.localtime(started):%H:%M on %b %d}" if started else ""
        return (
            f"This distribution started sending{when}: what was sent is history, so it can no longer "
            "be changed. Reload to see it as it is now."
        )
    return (
        f"This distribution is {distribution.get_status_display().lower()} and can no longer be changed "
        "here. Reload to see it as it is now."
    )


def _is_locked(distribution: Distribution | None) -> bool:
    if distribution is None:
        return False
    if not distribution.is_editable:
        return True
    return (
        distribution.status == DistributionStatus.SCHEDULED
        and distribution.send_at is not None
        and distribution.send_at <= timezone.now()
    )


def _keep_draft_segments(request: HttpRequest, distribution: Distribution) -> None:
    """A segment made inside the wizard stays a hidden draft until its distribution is saved."""
    for public_id in (
        (distribution.audience or {}).get("segment"),
        (distribution.trigger_params or {}).get("segment"),
    ):
        segment = segment_get(project=request.project, identifier=public_id) if public_id else None
        if segment is not None and segment.is_draft:
            segment_keep_draft(project=request.project, segment=segment)


# --- Rendering --------------------------------------------------------------------------------------


def _stepper(distribution: Distribution | None, current: str) -> list[dict[str, Any]]:
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


def _segment_of(request: HttpRequest, public_id: str) -> Segment | None:
    return segment_get(project=request.project, identifier=public_id) if public_id else None


def _trigger_context(
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
    chosen_segment = _segment_of(request, value("segment"))
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


def _audience_size(request: HttpRequest, distribution: Distribution) -> int | None:
    if distribution.kind != "manual":
        return None
    return distribution_preflight(project=request.project, distribution=distribution).audience.size


def _code_warning(request: HttpRequest, distribution: Distribution, campaign_id: str) -> str:
    """Warn when a manual send needs more codes than the campaign has free (auto-update ones grow)."""
    from campaigns.models import Campaign

    campaign = (
        Campaign.objects.for_project(request.project).filter(public_id=campaign_id).first()
        if campaign_id
        else None
    )
    if campaign is None or campaign.type == Campaign.Type.AUTO_UPDATE:
        return ""
    size = _audience_size(request, distribution)
    free = free_code_count(project=request.project, campaign=campaign)
    if size is not None and free < size:
        return (
            f"{campaign.name} has {free} free code{'s' if free != 1 else ''} for an audience of {size}: "
            f"{size - free} customer{'s' if size - free != 1 else ''} would get no code. "
            "Generate more codes first."
        )
    return ""


def _action_context(request: HttpRequest, distribution: Distribution, form: ActionForm | None) -> dict:
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
                warning = _code_warning(request, distribution, selected)
    return {
        "form": form,
        "actions": form.actions,
        "action": action,
        "action_pickers": action_pickers,
        "code_warning": warning,
    }


def _channels_context(
    request: HttpRequest, distribution: Distribution, errors: dict[str, list[str]] | None = None
) -> dict:
    rows = list(DistributionChannel.objects.for_project(request.project).filter(distribution=distribution))
    added = {row.kind for row in rows}
    allowed = catalogue.channels_for(distribution.trigger_key, distribution.action_key)
    channels = []
    for row in rows:
        found = catalogue.channel(row.kind)
        settings_form = None
        if row.kind == "webhook":
            settings_form = (
                WebhookSettingsForm(
                    {"url": (errors or {}).get("webhook-url-value", row.settings.get("url", ""))},
                    prefix="webhook",
                )
                if errors and "webhook-url" in errors
                else WebhookSettingsForm(initial={"url": row.settings.get("url", "")}, prefix="webhook")
            )
            if errors and "webhook-url" in errors:
                settings_form.is_valid()
                settings_form.errors.clear()
                settings_form.add_error("url", errors["webhook-url"])
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
        "channel_errors": (errors or {}).get("channels", []),
    }


def _lint(request: HttpRequest, distribution: Distribution) -> list[dict[str, str]]:
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


def _delivery_estimate(distribution: Distribution, audience_size: int | None, channels: list[str]) -> str:
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


def _summary_context(request: HttpRequest, distribution: Distribution, missing: list | None = None) -> dict:
    channels = list(distribution.channels.values_list("kind", flat=True))
    preflight = distribution_preflight(project=request.project, distribution=distribution)
    lint = _lint(request, distribution) if distribution.status == DistributionStatus.DRAFT else []
    return {
        "sentence": steps.configuration_in_words(request.project, distribution, channels),
        "preflight": preflight,
        "lint": lint,
        "missing": missing,
        "estimate": _delivery_estimate(distribution, preflight.audience.size, channels),
        "seconds_left": max(int((distribution.send_at - timezone.now()).total_seconds()), 0)
        if distribution.status == DistributionStatus.SCHEDULED and distribution.send_at
        else None,
    }


def _render(
    request: HttpRequest,
    distribution: Distribution | None,
    step: str,
    *,
    status: int = 200,
    notice: str = "",
    locked: str = "",
    **extra: Any,
) -> HttpResponse:
    context: dict[str, Any] = {
        "distribution": distribution,
        "step": step,
        "stepper": _stepper(distribution, step),
        "post_url": step_url(distribution, step),
        "notice": notice,
        "locked": locked or (_locked_message(distribution) if _is_locked(distribution) else ""),
    }
    if step == "trigger":
        context.update(_trigger_context(request, distribution, extra.pop("form", None)))
    elif step == "action":
        context.update(_action_context(request, distribution, extra.pop("form", None)))
    elif step == "channels":
        context.update(_channels_context(request, distribution, extra.pop("errors", None)))
    else:
        context.update(_summary_context(request, distribution, extra.pop("missing", None)))
    context.update(extra)
    # A history restore (the back button with no cached page) needs the whole page, not the step.
    is_fragment = request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request
    template = f"{PAGE}#step" if is_fragment else PAGE
    return render(request, template, context, status=status)


def _next(request: HttpRequest, distribution: Distribution, step: str) -> HttpResponse:
    following = steps.STEPS[steps.STEPS.index(step) + 1]
    if not request.htmx:
        return redirect(step_url(distribution, following))
    return push_url(_render(request, distribution, following), step_url(distribution, following))


# --- The steps ----------------------------------------------------------------------------------------


@wizard_view
def wizard_new(request: HttpRequest) -> HttpResponse:
    """The first step before anything is saved; choosing a trigger or saving creates the draft."""
    if request.method != "POST":
        return _render(request, None, "trigger")
    trigger = catalogue.trigger(request.POST.get("trigger", ""))
    intent = request.POST.get("intent", "draft")
    form = TriggerForm(request.POST, trigger=trigger, strict=intent == "next")
    if not form.is_valid():
        return _render(request, None, "trigger", status=422, form=form)
    try:
        distribution = services.distribution_create(
            project=request.project, fields=form.service_fields(), by=request.user
        )
    except DistributionRefused as error:
        _put_problems(form, error.problems, error.details)
        return _render(request, None, "trigger", status=422, form=form)
    step = "action" if intent == "next" else "trigger"
    if intent == "draft":
        _keep_draft_segments(request, distribution)
        messages.success(request, "Draft saved.")
    url = step_url(distribution, step)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@wizard_view
def wizard_step(request: HttpRequest, public_id: str, step: str) -> HttpResponse:
    if step not in steps.STEPS:
        raise Http404("No such step.")
    distribution = access_distribution(request, public_id)
    if distribution.status == DistributionStatus.ARCHIVED:
        raise Http404("The distribution was deleted.")
    if request.method != "POST":
        return _render(request, distribution, step)
    if _is_locked(distribution):
        return _render(request, distribution, step, status=409, locked=_locked_message(distribution))
    intent = request.POST.get("intent", "next")
    handler = {"trigger": _post_trigger, "action": _post_action, "channels": _post_channels}.get(step)
    if handler is None:  # the summary has nothing of its own to save
        _keep_draft_segments(request, distribution)
        return _render(request, distribution, step, notice=_saved_notice())
    return handler(request, distribution, intent)


def _saved_notice() -> str:
    return f"Draft saved at {timezone.localtime():%H:%M:%S}."


def _save(request: HttpRequest, distribution: Distribution, fields: dict) -> Distribution:
    return services.distribution_update(
        project=request.project, distribution=distribution, fields=fields, by=request.user
    )


def _refused(
    request: HttpRequest, distribution: Distribution, step: str, form, error: DistributionRefused
) -> HttpResponse:
    if error.key == "invalid_distribution_state":
        distribution.refresh_from_db()
        return _render(request, distribution, step, status=409, locked=_locked_message(distribution))
    _put_problems(form, error.problems, error.details)
    return _render(request, distribution, step, status=422, form=form)


def _after_save(request: HttpRequest, distribution: Distribution, step: str, intent: str) -> HttpResponse:
    if intent == "next":
        return _next(request, distribution, step)
    if intent == "draft":
        _keep_draft_segments(request, distribution)
        return _render(request, distribution, step, notice=_saved_notice())
    return _render(request, distribution, step)


def _post_trigger(request: HttpRequest, distribution: Distribution, intent: str) -> HttpResponse:
    trigger = catalogue.trigger(request.POST.get("trigger", ""))
    if intent == "choose":
        # A new trigger starts with its own parameters (and drops an action it does not allow).
        form = TriggerForm(
            {"name": request.POST.get("name", ""), "trigger": request.POST.get("trigger", "")},
            trigger=trigger,
        )
        if not form.is_valid():
            return _render(request, distribution, "trigger", status=422, form=form)
        fields = form.service_fields()
        if trigger is not None and not catalogue.is_action_allowed(trigger.key, distribution.action_key):
            fields |= {"action": {}, "channels": []}
        elif trigger is not None:
            # Channels the pair no longer offers go (a manual plain message has no webhook).
            allowed = {c.key for c in catalogue.channels_for(trigger.key, distribution.action_key)}
            fields["channels"] = [e for e in _channel_entries(distribution) if e["kind"] in allowed]
        try:
            _save(request, distribution, fields)
        except DistributionRefused as error:
            return _refused(request, distribution, "trigger", form, error)
        return _render(request, distribution, "trigger")
    form = TriggerForm(request.POST, trigger=trigger, strict=intent == "next")
    if not form.is_valid():
        return _render(request, distribution, "trigger", status=422, form=form)
    try:
        distribution = _save(request, distribution, form.service_fields())
    except DistributionRefused as error:
        return _refused(request, distribution, "trigger", form, error)
    return _after_save(request, distribution, "trigger", intent)


def _post_action(request: HttpRequest, distribution: Distribution, intent: str) -> HttpResponse:
    form = ActionForm(
        request.POST,
        trigger_key=distribution.trigger_key,
        action_key=distribution.action_key,
        strict=intent == "next",
    )
    if not form.is_valid():
        return _render(request, distribution, "action", status=422, form=form)
    fields = form.service_fields()
    if fields and fields["action"]["key"] != distribution.action_key:
        # Channels the new action does not offer go; the others keep their message.
        allowed = {c.key for c in catalogue.channels_for(distribution.trigger_key, fields["action"]["key"])}
        fields["channels"] = [
            {"kind": c.kind, "settings": c.settings, "template": c.template}
            for c in distribution.channels.all()
            if c.kind in allowed
        ]
    try:
        distribution = _save(request, distribution, fields)
    except DistributionRefused as error:
        return _refused(request, distribution, "action", form, error)
    if intent == "choose":
        return _render(request, distribution, "action")
    return _after_save(request, distribution, "action", intent)


def _channel_entries(distribution: Distribution) -> list[dict[str, Any]]:
    return [
        {"kind": c.kind, "settings": dict(c.settings), "template": dict(c.template)}
        for c in distribution.channels.all()
    ]


def _post_channels(request: HttpRequest, distribution: Distribution, intent: str) -> HttpResponse:
    entries = _channel_entries(distribution)
    errors: dict[str, list[str]] = {}
    for entry in entries:
        if entry["kind"] != "webhook":
            continue
        settings_form = WebhookSettingsForm(request.POST, prefix="webhook")
        if not settings_form.is_valid():
            errors["webhook-url"] = settings_form.errors["url"]
        elif settings_form.cleaned_data["url"]:
            entry["settings"] = {"url": settings_form.cleaned_data["url"]}
        elif intent == "next" and not entry["settings"].get("endpoint"):
            errors["webhook-url"] = ["Give the URL the webhook is sent to."]
        errors.setdefault("webhook-url-value", request.POST.get("webhook-url", ""))
    if intent == "next" and not entries:
        errors["channels"] = ["Add at least one channel."]
    if errors.keys() - {"webhook-url-value"}:
        return _render(request, distribution, "channels", status=422, errors=errors)
    try:
        distribution = _save(request, distribution, {"channels": entries})
    except DistributionRefused as error:
        if error.key == "invalid_distribution_state":
            distribution.refresh_from_db()
            return _render(
                request, distribution, "channels", status=409, locked=_locked_message(distribution)
            )
        messages_by_field = {".".join(p.field.split(".")[-1:]): p.message for p in error.problems}
        errors["webhook-url"] = [messages_by_field.get("url", error.details)]
        errors["webhook-url-value"] = request.POST.get("webhook-url", "")
        return _render(request, distribution, "channels", status=422, errors=errors)
    return _after_save(request, distribution, "channels", intent)


@wizard_view
@require_POST
def channel_add(request: HttpRequest, public_id: str) -> HttpResponse:
    distribution = access_distribution(request, public_id)
    if _is_locked(distribution):
        return _render(request, distribution, "channels", status=409, locked=_locked_message(distribution))
    kind = request.POST.get("kind", "")
    entries = _channel_entries(distribution)
    allowed = {c.key for c in catalogue.channels_for(distribution.trigger_key, distribution.action_key)}
    if kind not in allowed or kind in {e["kind"] for e in entries}:
        return _render(
            request,
            distribution,
            "channels",
            status=422,
            errors={"channels": [f"The {kind or 'chosen'} channel cannot be added to this distribution."]},
        )
    entries.append(
        {"kind": kind, "settings": {}, "template": steps.starter_template(kind, distribution.action_key)}
    )
    try:
        distribution = _save(request, distribution, {"channels": entries})
    except DistributionRefused as error:
        return _render(request, distribution, "channels", status=422, errors={"channels": [error.details]})
    return _render(request, distribution, "channels", focus=f"channel-{kind}")


@wizard_view
@require_POST
def channel_remove(request: HttpRequest, public_id: str, kind: str) -> HttpResponse:
    distribution = access_distribution(request, public_id)
    if _is_locked(distribution):
        return _render(request, distribution, "channels", status=409, locked=_locked_message(distribution))
    entries = [e for e in _channel_entries(distribution) if e["kind"] != kind]
    try:
        distribution = _save(request, distribution, {"channels": entries})
    except DistributionRefused as error:
        return _render(request, distribution, "channels", status=422, errors={"channels": [error.details]})
    return _render(request, distribution, "channels")


# --- Save & Send, and Stop ---------------------------------------------------------------------------


@wizard_view
@require_POST
def wizard_send(request: HttpRequest, public_id: str) -> HttpResponse:
    """Save & Send. A second click (or a second tab) finds it already sent and shows that: one send."""
    distribution = access_distribution(request, public_id)
    if distribution.status != DistributionStatus.DRAFT:
        return _render(request, distribution, "summary")
    problems = services.distribution_problems(project=request.project, distribution=distribution)
    lint_errors = [f for f in _lint(request, distribution) if f["level"] == "error"]
    if problems or lint_errors:
        missing = steps.missing_items(problems) + [
            steps.Missing("channels", f"{f['channel'].capitalize()} message", f["message"])
            for f in lint_errors
        ]
        return _render(request, distribution, "summary", status=422, missing=missing)
    try:
        distribution = services.distribution_send(
            project=request.project, distribution=distribution, by=request.user
        )
    except DistributionRefused as error:
        distribution.refresh_from_db()
        if distribution.status != DistributionStatus.DRAFT:
            return _render(request, distribution, "summary")
        missing = steps.missing_items(error.problems) or [
            steps.Missing("summary", "Save & Send", error.details)
        ]
        return _render(request, distribution, "summary", status=422, missing=missing)
    _keep_draft_segments(request, distribution)
    return _render(request, distribution, "summary")


@wizard_view
@require_POST
def wizard_stop(request: HttpRequest, public_id: str) -> HttpResponse:
    """Stop inside the 10-minute window: nothing is sent."""
    distribution = access_distribution(request, public_id)
    try:
        distribution = services.distribution_cancel(
            project=request.project, distribution=distribution, by=request.user
        )
    except DistributionRefused:
        distribution.refresh_from_db()
        if distribution.status != DistributionStatus.CANCELED:
            return _render(request, distribution, "summary", status=409, locked=_locked_message(distribution))
    return _render(request, distribution, "summary")


@wizard_view
@require_GET
def wizard_countdown(request: HttpRequest, public_id: str) -> HttpResponse:
    distribution = access_distribution(request, public_id)
    context = {"distribution": distribution, **_summary_context(request, distribution)}
    return render(request, f"{PAGE}#outcome", context)


# --- Searching and creating inline -------------------------------------------------------------------


@wizard_view
@require_GET
def trigger_search(request: HttpRequest) -> HttpResponse:
    category = request.GET.get("category", "")
    if category not in catalogue.Category.__members__.values():
        category = ""
    found = catalogue.search_triggers(category=category or None, text=request.GET.get("q", "")[:100])
    context = {
        "triggers": found,
        "selected_trigger": request.GET.get("trigger", ""),
        "post_url": request.GET.get("post_url", ""),
    }
    return render(request, f"{PAGE}#trigger_list", context)


PICKER_KINDS = {str(kind) for kind in ParameterKind}


@wizard_view
@require_GET
def picker_options(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in PICKER_KINDS:
        raise Http404("No such picker.")
    types = tuple(t for t in request.GET.get("types", "").split(",") if t)
    field_name = request.GET.get("field", "")
    selected = request.GET.get(field_name, "") if field_name else ""
    found = pickers.options(
        request.project, kind, q=request.GET.get("q", ""), selected=selected, campaign_types=types
    )
    return render(
        request,
        f"{PAGE}#picker_options",
        {"options": found, "selected": selected, "required": request.GET.get("required") == "1"},
    )


def _picker_response(
    request: HttpRequest, picker: pickers.Picker, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {"picker": picker, **extra}
    if picker.kind == ParameterKind.SEGMENT:
        context["chosen_segment"] = _segment_of(request, picker.selected)
    return render(request, f"{PAGE}#picker", context, status=status)


@wizard_view
@require_POST
def segment_new(request: HttpRequest) -> HttpResponse:
    """ "+" beside a segment picker: a draft segment (hidden until the distribution is saved), chosen."""
    form = SegmentForm(request.POST, prefix="segment")
    field_name = "segment"
    segment = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            segment = segment_create(
                project=request.project,
                name=data["name"],
                type=data["type"],
                filter=data.get("filter"),
                is_draft=True,
            )
        except FilterError as error:
            form.add_error(None, f"Filter: {error}")
    picker = pickers.Picker(
        name=field_name,
        label="Segment",
        kind=str(ParameterKind.SEGMENT),
        options=pickers.options(
            request.project,
            ParameterKind.SEGMENT,
            selected=segment.public_id if segment else request.POST.get(field_name, ""),
        ),
        selected=segment.public_id if segment else request.POST.get(field_name, ""),
    )
    return _picker_response(
        request,
        picker,
        status=200 if segment else 422,
        segment_form=form if segment is None else SegmentForm(prefix="segment"),
        created=segment,
    )


@wizard_view
@require_GET
def segment_status(request: HttpRequest) -> HttpResponse:
    """The chosen segment's sync status, polled while it syncs and fetched when another is chosen."""
    segment = _segment_of(request, request.GET.get("segment", "")[:60])
    return render(request, f"{PAGE}#segment_status", {"chosen_segment": segment})


@wizard_view
@require_POST
def rule_new(request: HttpRequest) -> HttpResponse:
    """The inline validation-rule editor's Save: the rule is created and chosen."""
    form = ValidationRuleForm(request.POST)
    rule = None
    if form.is_valid():
        try:
            rule = validation_rule_create(
                project=request.project,
                fields={"name": form.cleaned_data["name"], "rules": form.cleaned_data["rules"]},
            )
        except CampaignRefused as error:
            form.add_error(
                "name" if error.key == "duplicate_found" else None,
                str(error.message if hasattr(error, "message") else error),
            )
    selected = rule.public_id if rule else request.POST.get("validation_rule", "")
    picker = pickers.Picker(
        name="validation_rule",
        label="Validation rule",
        kind=str(ParameterKind.VALIDATION_RULE),
        options=pickers.options(request.project, ParameterKind.VALIDATION_RULE, selected=selected),
        selected=selected,
        required=False,
    )
    return _picker_response(
        request,
        picker,
        status=200 if rule else 422,
        rule_form=form if rule is None else ValidationRuleForm(),
        created=rule,
    )


@wizard_view
@require_POST
def customer_new(request: HttpRequest) -> HttpResponse:
    """ "+ new customer" beside the customer picker: created (or found by source_id) and chosen."""
    form = NewCustomerForm(request.POST)
    customer = None
    if form.is_valid():
        fields = {name: value for name, value in form.cleaned_data.items() if value}
        customer, _ = customer_upsert(project=request.project, fields=fields)
    selected = customer.public_id if customer else request.POST.get("customer", "")
    picker = pickers.Picker(
        name="customer",
        label="Customer",
        kind=str(ParameterKind.CUSTOMER),
        options=pickers.options(request.project, ParameterKind.CUSTOMER, selected=selected),
        selected=selected,
    )
    return _picker_response(
        request,
        picker,
        status=200 if customer else 422,
        customer_form=form if customer is None else NewCustomerForm(),
        created=customer,
    )
