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
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, push_url

from distributions import catalogue, services
from distributions.models import Distribution, DistributionStatus
from distributions.services import DistributionRefused
from distributions.validation import Problem
from distributions.wizard import contexts, steps
from distributions.wizard.forms import ActionForm, TriggerForm, WebhookSettingsForm
from segments.selectors import segment_get
from segments.services import segment_keep_draft
from tenancy.access import access_distribution, membership_required

PAGE = contexts.PAGE


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
        "stepper": contexts.stepper(distribution, step),
        "post_url": contexts.step_url(distribution, step),
        "notice": notice,
        "locked": locked or (_locked_message(distribution) if _is_locked(distribution) else ""),
    }
    if step == "trigger":
        context.update(contexts.trigger_context(request, distribution, extra.pop("form", None)))
    elif step == "action":
        context.update(contexts.action_context(request, distribution, extra.pop("form", None)))
    elif step == "channels":
        context.update(
            contexts.channels_context(
                request, distribution, extra.pop("webhook_form", None), extra.pop("channel_errors", None)
            )
        )
    else:
        context.update(contexts.summary_context(request, distribution, extra.pop("missing", None)))
    context.update(extra)
    # A history restore (the back button with no cached page) needs the whole page, not the step.
    is_fragment = request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request
    template = f"{PAGE}#step" if is_fragment else PAGE
    return render(request, template, context, status=status)


def _next(request: HttpRequest, distribution: Distribution, step: str) -> HttpResponse:
    following = steps.STEPS[steps.STEPS.index(step) + 1]
    if not request.htmx:
        return redirect(contexts.step_url(distribution, following))
    return push_url(_render(request, distribution, following), contexts.step_url(distribution, following))


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
    url = contexts.step_url(distribution, step)
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
        return _render(request, distribution, step, notice=_saved_notice(distribution))
    return handler(request, distribution, intent)


def _saved_notice(distribution: Distribution) -> str:
    what = "Draft saved" if distribution.status == DistributionStatus.DRAFT else "Saved"
    return f"{what} at {timezone.localtime():%H:%M:%S}."


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
        return _render(request, distribution, step, notice=_saved_notice(distribution))
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
        # Focus stays on the chosen trigger (the step re-renders around it with its fields).
        return _render(request, distribution, "trigger", focus_choice=trigger.key if trigger else "")
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
        return _render(request, distribution, "action", focus_choice=distribution.action_key)
    return _after_save(request, distribution, "action", intent)


def _channel_entries(distribution: Distribution) -> list[dict[str, Any]]:
    return [
        {"kind": c.kind, "settings": dict(c.settings), "template": dict(c.template)}
        for c in distribution.channels.all()
    ]


def _with_posted_settings(
    request: HttpRequest, distribution: Distribution, *, is_moving_on: bool
) -> tuple[list[dict[str, Any]], WebhookSettingsForm | None]:
    """The channels with the settings typed into the step (kept when a channel is added or removed
    too), and the webhook's form, bound, with any error on it."""
    entries = _channel_entries(distribution)
    webhook_form = None
    for entry in entries:
        if entry["kind"] != "webhook" or "webhook-url" not in request.POST:
            continue
        webhook_form = WebhookSettingsForm(request.POST, prefix="webhook")
        if not webhook_form.is_valid():
            continue
        if webhook_form.cleaned_data["url"]:
            entry["settings"] = {"url": webhook_form.cleaned_data["url"]}
        elif is_moving_on and not entry["settings"].get("endpoint"):
            webhook_form.add_error("url", "Give the URL the webhook is sent to.")
    return entries, webhook_form


def _save_channels(
    request: HttpRequest,
    distribution: Distribution,
    entries: list[dict[str, Any]],
    webhook_form: WebhookSettingsForm | None,
) -> tuple[Distribution, HttpResponse | None]:
    """Save the channels; on a refusal, the response showing why (None when saved)."""
    try:
        return _save(request, distribution, {"channels": entries}), None
    except DistributionRefused as error:
        if error.key == "invalid_distribution_state":
            distribution.refresh_from_db()
            return distribution, _render(
                request, distribution, "channels", status=409, locked=_locked_message(distribution)
            )
        url_problems = [p.message for p in error.problems if p.field.endswith(".settings.url")]
        if url_problems and webhook_form is not None:
            webhook_form.add_error("url", url_problems)
            return distribution, _render(
                request, distribution, "channels", status=422, webhook_form=webhook_form
            )
        return distribution, _render(
            request,
            distribution,
            "channels",
            status=422,
            webhook_form=webhook_form,
            channel_errors=[error.details],
        )


def _post_channels(request: HttpRequest, distribution: Distribution, intent: str) -> HttpResponse:
    entries, webhook_form = _with_posted_settings(request, distribution, is_moving_on=intent == "next")
    channel_errors = ["Add at least one channel."] if intent == "next" and not entries else []
    if channel_errors or (webhook_form is not None and webhook_form.errors):
        return _render(
            request,
            distribution,
            "channels",
            status=422,
            webhook_form=webhook_form,
            channel_errors=channel_errors,
        )
    distribution, refused = _save_channels(request, distribution, entries, webhook_form)
    return refused or _after_save(request, distribution, "channels", intent)


@wizard_view
@require_POST
def channel_add(request: HttpRequest, public_id: str) -> HttpResponse:
    distribution = access_distribution(request, public_id)
    if _is_locked(distribution):
        return _render(request, distribution, "channels", status=409, locked=_locked_message(distribution))
    kind = request.POST.get("kind", "")
    entries, webhook_form = _with_posted_settings(request, distribution, is_moving_on=False)
    allowed = {c.key for c in catalogue.channels_for(distribution.trigger_key, distribution.action_key)}
    if kind not in allowed or kind in {e["kind"] for e in entries}:
        problem = f"The {kind or 'chosen'} channel cannot be added to this distribution."
        return _render(request, distribution, "channels", status=422, channel_errors=[problem])
    if webhook_form is not None and webhook_form.errors:
        return _render(request, distribution, "channels", status=422, webhook_form=webhook_form)
    template = steps.starter_template(kind, distribution.action_key)
    entries.append({"kind": kind, "settings": {}, "template": template})
    distribution, refused = _save_channels(request, distribution, entries, webhook_form)
    return refused or _render(request, distribution, "channels")


@wizard_view
@require_POST
def channel_remove(request: HttpRequest, public_id: str, kind: str) -> HttpResponse:
    distribution = access_distribution(request, public_id)
    if _is_locked(distribution):
        return _render(request, distribution, "channels", status=409, locked=_locked_message(distribution))
    entries, _ = _with_posted_settings(request, distribution, is_moving_on=False)
    remaining = [entry for entry in entries if entry["kind"] != kind]
    distribution, refused = _save_channels(request, distribution, remaining, None)
    return refused or _render(request, distribution, "channels")


# --- Save & Send, and Stop ---------------------------------------------------------------------------


@wizard_view
@require_POST
def wizard_send(request: HttpRequest, public_id: str) -> HttpResponse:
    """Save & Send. A second click (or a second tab) finds it already sent and shows that: one send."""
    distribution = access_distribution(request, public_id)
    if distribution.status != DistributionStatus.DRAFT:
        return _render(request, distribution, "summary")
    problems = services.distribution_problems(project=request.project, distribution=distribution)
    lint_errors = [f for f in contexts.template_findings(request, distribution) if f["level"] == "error"]
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
    context = {"distribution": distribution, **contexts.summary_context(request, distribution)}
    return render(request, f"{PAGE}#outcome", context)
