"""Dashboard: the distribution list and the distribution page (Details, Audience, Analytics, Activity).

Every write goes through the same services as the API; viewers see everything and change nothing
(403). Statuses refresh in place: a row (and the page's header) polls its own partial while the
distribution is scheduled or sending, and the Activity tab polls its newest lines.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from distributions import catalogue, services, words
from distributions.analytics import (
    activity_timeline,
    distribution_analytics,
    sending_progress,
)
from distributions.charts import delivery_charts
from distributions.models import (
    ActivityKind,
    Distribution,
    DistributionActivity,
    DistributionChannel,
    DistributionQuerySet,
    DistributionStatus,
)
from distributions.preflight import distribution_preflight
from distributions.sending import skipped_counts
from distributions.services import DistributionRefused, stream_of
from messaging.models import Message
from messaging.selectors import message_counts
from tenancy.access import access_distribution, membership_required
from tenancy.api.errors import ApiError
from tenancy.models import Project

LIST_PAGE_SIZE = 50
ACTIVITY_PAGE_SIZE = 50
TABS = ("details", "audience", "analytics", "activity")
# While a distribution is in one of these, its row and page header poll for the next status.
CHANGING = (DistributionStatus.SCHEDULED, DistributionStatus.SENDING)
# Pause and resume from the list: the states each is offered in.
PAUSABLE = (DistributionStatus.LIVE, DistributionStatus.SENDING, DistributionStatus.SENT)


class ListFilters(forms.Form):
    """The list's filters; a bad one is named next to its field and the others still apply."""

    q = forms.CharField(required=False, max_length=200, label="Name or subject")
    status = forms.ChoiceField(
        required=False,
        label="Status",
        # Archived (deleted) ones sit behind their own choice; "Any status" leaves them out.
        choices=[("", "Any status"), *DistributionStatus.choices],
    )
    category = forms.ChoiceField(
        required=False,
        label="Trigger",
        choices=[("", "Any trigger"), *((str(c), catalogue.CATEGORY_LABELS[c]) for c in catalogue.Category)],
    )
    created_from = forms.DateField(
        required=False, label="Created from", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        required=False, label="Created until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and end < start:
            self.add_error("created_to", "Pick a day on or after the start day.")
            data.pop("created_from", None)  # half a range would filter by surprise
        return data


def _filtered(project: Project, data: dict) -> DistributionQuerySet:
    distributions = Distribution.objects.for_project(project)
    status = data.get("status") or ""
    if status == DistributionStatus.ARCHIVED:
        distributions = distributions.filter(status=status)
    else:
        distributions = distributions.visible()
        if status:
            distributions = distributions.filter(status=status)
    if data.get("q"):
        # The subject is the email channel's: people remember what the customer saw.
        by_subject = DistributionChannel.objects.for_project(project).filter(
            distribution=OuterRef("pk"), template__subject__icontains=data["q"]
        )
        distributions = distributions.filter(Q(name__icontains=data["q"]) | Exists(by_subject))
    if data.get("category"):
        distributions = distributions.filter(
            trigger_key__in=[t.key for t in catalogue.search_triggers(category=data["category"])]
        )
    zone = zoneinfo.ZoneInfo(project.timezone)
    if data.get("created_from"):
        distributions = distributions.filter(
            created_at__gte=datetime.combine(data["created_from"], time.min, tzinfo=zone)
        )
    if data.get("created_to"):
        end = datetime.combine(data["created_to"] + timedelta(days=1), time.min, tzinfo=zone)
        distributions = distributions.filter(created_at__lt=end)
    return distributions.order_by("-created_at", "-pk")


def _with_channels(project: Project, distributions: DistributionQuerySet) -> DistributionQuerySet:
    # Only the kinds: a channel's template (a compiled email) can be large.
    channels = DistributionChannel.objects.for_project(project).only(
        "id", "distribution_id", "kind", "position"
    )
    return distributions.prefetch_related(Prefetch("channels", queryset=channels))


ROW_URLS = ("detail", "row", "pause", "resume", "delete")
PUBLIC_ID_SLOT = "PUBLIC-ID"


def _row_urls() -> dict[str, str]:
    # Reversed once per list and filled in per row: fifty rows times six `{% url %}` tags cost a
    # third of the page's server time.
    urls = {name: reverse(f"distributions:{name}", args=[PUBLIC_ID_SLOT]) for name in ROW_URLS}
    urls["edit"] = reverse("distributions:wizard:step", args=[PUBLIC_ID_SLOT, "trigger"])
    return urls


def list_rows(project: Project, distributions: list[Distribution]) -> list[dict]:
    """What a list row shows: the trigger and its conditions by name, the channels, sending progress.
    A fixed number of queries whatever the number of rows."""
    names = words.parameter_names(project=project, distributions=distributions)
    progress = sending_progress(project=project, distributions=distributions)
    urls = _row_urls()
    return [
        {
            "urls": {name: url.replace(PUBLIC_ID_SLOT, distribution.public_id) for name, url in urls.items()},
            "distribution": distribution,
            "trigger": catalogue.trigger(distribution.trigger_key),
            "action": catalogue.action(distribution.action_key),
            "conditions": words.conditions(distribution, names),
            "channels": [channel.kind for channel in distribution.channels.all()],
            "progress": progress.get(distribution.pk),
            "is_changing": distribution.status in CHANGING,
            "can_pause": distribution.status in PAUSABLE,
            "can_resume": distribution.status == DistributionStatus.PAUSED,
        }
        for distribution in distributions
    ]


@membership_required
def distribution_list(request: HttpRequest) -> HttpResponse:
    form = ListFilters(request.GET or None)
    data = {}
    if form.is_bound:
        form.is_valid()  # the valid fields filter; the invalid ones show their error
        data = form.cleaned_data
    distributions = _with_channels(request.project, _filtered(request.project, data))
    page = Paginator(distributions, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    filters = urlencode({name: value for name in form.fields if (value := request.GET.get(name, ""))})
    return render(
        request,
        "distributions/distribution_list.html",
        {
            "page": page,
            "rows": list_rows(request.project, list(page.object_list)),
            "form": form,
            "is_filtered": bool(filters),
            "filters": filters,
        },
    )


@vary_on_headers("HX-Request")
@membership_required
def distribution_row(request: HttpRequest, public_id: str) -> HttpResponse:
    """One list row, for its own polling and after an action; a plain link gets the page."""
    distribution = access_distribution(request, public_id)
    if not request.htmx:
        return redirect("distributions:detail", public_id=distribution.public_id)
    return _row_response(request, distribution)


def _row_response(request: HttpRequest, distribution: Distribution) -> HttpResponse:
    if distribution.status == DistributionStatus.ARCHIVED:
        return HttpResponse("")  # the row leaves the (default) list
    fresh = _with_channels(
        request.project, Distribution.objects.for_project(request.project).filter(pk=distribution.pk)
    )
    row = list_rows(request.project, list(fresh))[0]
    return render(request, "distributions/distribution_list.html#row", {"row": row})


def _activity_page(
    request: HttpRequest, distribution: Distribution, since: datetime | None
) -> tuple[list[dict], str | None]:
    """Lifecycle lines and per-message outcomes, newest first, keyset-paged like the API."""
    from distributions.api.reports import attempt_object, decode_cursor, encode_cursor

    kind = request.GET.get("kind", "")
    if kind not in (*ActivityKind.values, "message"):
        kind = ""
    after = None
    if request.GET.get("after"):
        try:
            after = decode_cursor(request.GET["after"])
        except ApiError:
            after = None
    entries, has_more = activity_timeline(
        project=request.project,
        distribution=distribution,
        kind=kind or None,
        since=since,
        until=None,
        after=after,
        limit=ACTIVITY_PAGE_SIZE,
    )
    rows = []
    for entry in entries:
        if entry.line is not None:
            line = entry.line
            rows.append(
                {
                    "kind": line.kind,
                    "label": line.get_kind_display(),
                    "message": line.message,
                    "created_at": line.created_at,
                    "actor": line.actor_label,
                }
            )
        else:
            outcome = attempt_object(entry.attempt)
            rows.append(
                {
                    "kind": "message",
                    "label": f"Message {outcome['data']['outcome']}",
                    "message": outcome["message"],
                    "created_at": entry.moment,
                    "actor": "System",
                }
            )
    next_url = None
    if has_more:
        params = {
            "tab": "activity",
            "after": encode_cursor(entries[-1].cursor),
            **({"kind": kind} if kind else {}),
            **({"range": request.GET["range"]} if request.GET.get("range") in TIME_RANGES else {}),
        }
        next_url = reverse("distributions:detail", args=[distribution.public_id]) + "?" + urlencode(params)
    return rows, next_url


# The range pickers of the Analytics and Activity tabs: how far back, and the chart's bucket.
TIME_RANGES = {
    "24h": (timedelta(hours=24), "hour"),
    "7d": (timedelta(days=7), "day"),
    "30d": (timedelta(days=30), "day"),
    "all": (None, "day"),
}
WAITING_STATES = (Message.State.QUEUED, Message.State.DEFERRED, Message.State.SENDING)
RANGE_LABELS = {"24h": "24 hours", "7d": "7 days", "30d": "30 days", "all": "All time"}


def _chosen_range(request: HttpRequest, default: str) -> str:
    chosen = request.GET.get("range", default)
    return chosen if chosen in TIME_RANGES else default


def _analytics(request: HttpRequest, distribution: Distribution) -> dict:
    """The charts and the tables of the Analytics tab, over the chosen range (project time zone)."""
    chosen = _chosen_range(request, "7d")
    span, interval = TIME_RANGES[chosen]
    until = timezone.now() + timedelta(seconds=1)
    since = until - span if span is not None else distribution.created_at
    report = distribution_analytics(
        project=request.project,
        distribution=distribution,
        since=since,
        until=until,
        interval=interval,
        with_message_states=False,
    )
    label = "%H:%M" if interval == "hour" else "%b %d"
    with timezone.override(zoneinfo.ZoneInfo(request.project.timezone)):
        return {
            "report": report,
            "charts": delivery_charts(report["series"], label_format=label),
            "ranges": list(RANGE_LABELS.items()),
            "range": chosen,
        }


def _audience(request: HttpRequest, distribution: Distribution) -> dict:
    """Who it targets, and what happened to their messages so far: per channel and state, and why
    customers were skipped."""
    context: dict = {"message_states": [], "skipped_reasons": {}, "preflight": None}
    if distribution.status in (DistributionStatus.DRAFT, DistributionStatus.SCHEDULED):
        # Nothing sent yet: who it would reach now, and who would be skipped.
        context["preflight"] = distribution_preflight(project=request.project, distribution=distribution)
    stream = stream_of(request.project, distribution)
    if stream is not None:
        context["message_states"] = [
            {
                "channel": channel,
                "waiting": sum(counts.get(state, 0) for state in WAITING_STATES),
                "sent": counts.get(Message.State.SENT, 0),
                "failed": counts.get(Message.State.FAILED, 0),
                "skipped": counts.get(Message.State.SKIPPED, 0),
                "blocked": counts.get(Message.State.BLOCKED_LIMIT, 0),
                "recovered": counts.get("recovered", 0),
            }
            for channel, counts in sorted(message_counts(project=request.project, stream=stream).items())
        ]
        context["skipped_reasons"] = skipped_counts(project=request.project, stream=stream)
    return context


def _last_edit(request: HttpRequest, distribution: Distribution) -> DistributionActivity | None:
    """Who edited it last and when: the newest "updated" line of its activity (by the kind index)."""
    return (
        DistributionActivity.objects.for_project(request.project)
        .filter(distribution=distribution, kind=ActivityKind.UPDATED)
        .order_by("-created_at", "-pk")
        .first()
    )


def _header_context(request: HttpRequest, distribution: Distribution) -> dict:
    progress = sending_progress(project=request.project, distributions=[distribution])
    return {
        "distribution": distribution,
        "progress": progress.get(distribution.pk),
        "is_changing": distribution.status in CHANGING,
    }


@vary_on_headers("HX-Request")
@membership_required
def distribution_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    distribution = access_distribution(request, public_id)
    part = request.GET.get("part") if request.htmx else None
    if part == "status":
        return render(
            request,
            "distributions/distribution_detail.html#status",
            _header_context(request, distribution),
        )
    tab = request.GET.get("tab", "details")
    if tab not in TABS:
        tab = "details"
    names = words.parameter_names(project=request.project, distributions=[distribution])
    audience = distribution.audience or {}
    audience_id = audience.get(audience.get("type", ""), "")
    context = {
        **_header_context(request, distribution),
        "tab": tab,
        "tabs": TABS,
        "trigger": catalogue.trigger(distribution.trigger_key),
        "action": catalogue.action(distribution.action_key),
        "conditions": words.conditions(distribution, names),
        "audience_name": names.get(audience_id, audience_id),
    }
    if tab == "details":
        context.update(
            channels=[
                {"channel": channel, "kinds": [channel.kind], "definition": catalogue.channel(channel.kind)}
                for channel in distribution.channels.all()
            ],
            time_frame=words.time_frame(distribution),
            last_edit=_last_edit(request, distribution),
            problems=services.distribution_problems(project=request.project, distribution=distribution)
            if distribution.status == DistributionStatus.DRAFT
            else [],
        )
    elif tab == "audience":
        context.update(_audience(request, distribution))
    elif tab == "analytics":
        context.update(_analytics(request, distribution))
    else:
        chosen = _chosen_range(request, "all")
        span = TIME_RANGES[chosen][0]
        since = timezone.now() - span if span is not None else None
        context["activities"], context["next_url"] = _activity_page(request, distribution, since)
        context["activity_kinds"] = [*ActivityKind.choices, ("message", "Message outcomes")]
        context["kind"] = request.GET.get("kind", "")
        context["ranges"] = list(RANGE_LABELS.items())
        context["range"] = chosen
        # Polling refreshes the newest lines only; an older page stays still while being read.
        context["is_polling"] = not request.GET.get("after")
        if part == "activity":
            return render(request, "distributions/distribution_detail.html#activity_lines", context)
    return render(request, "distributions/distribution_detail.html", context)


class DistributionEditForm(forms.Form):
    """What the plain page edits (the wizard edits the rest); the service decides what is allowed."""

    name = forms.CharField(max_length=255, required=False)
    live_from = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Live from"
    )
    live_until = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Live until"
    )


@membership_required(can_edit=True)
def distribution_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    # The time frame is typed and shown in the project's time zone.
    with timezone.override(zoneinfo.ZoneInfo(request.project.timezone)):
        return _distribution_edit(request, public_id)


def _distribution_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    distribution = access_distribution(request, public_id)
    if request.method == "POST":
        form = DistributionEditForm(request.POST)
        if form.is_valid():
            fields = {"name": form.cleaned_data["name"]}
            if distribution.kind != "manual":
                fields |= {name: form.cleaned_data[name] for name in ("live_from", "live_until")}
            try:
                services.distribution_update(
                    project=request.project, distribution=distribution, fields=fields, by=request.user
                )
            except DistributionRefused as error:
                form.add_error(None, error.details)
            else:
                messages.success(request, "Distribution saved.")
                return redirect("distributions:detail", public_id=distribution.public_id)
    else:
        form = DistributionEditForm(
            initial={
                "name": distribution.name,
                "live_from": distribution.live_from,
                "live_until": distribution.live_until,
            }
        )
    return render(
        request, "distributions/distribution_edit.html", {"distribution": distribution, "form": form}
    )


def _outcome(
    request: HttpRequest, distribution: Distribution, level: str, text: str, *, after_delete: bool = False
) -> HttpResponse:
    """From the list (htmx): the row again, in place, and a toast. From a page: a flash and a redirect."""
    if request.htmx:
        distribution.refresh_from_db()
        response = _row_response(request, distribution)
        return trigger_client_event(response, "toast", {"level": level, "message": text})
    getattr(messages, level)(request, text)
    if after_delete and level == "success":
        return redirect("distributions:list")
    return redirect("distributions:detail", public_id=distribution.public_id)


def _transition(
    service: Callable[..., Distribution], done: str
) -> Callable[[HttpRequest, str], HttpResponse]:
    @membership_required(can_edit=True)
    @require_POST
    def view(request: HttpRequest, public_id: str) -> HttpResponse:
        distribution = access_distribution(request, public_id)
        try:
            service(project=request.project, distribution=distribution, by=request.user)
        except DistributionRefused as error:
            return _outcome(request, distribution, "error", error.details)
        return _outcome(
            request,
            distribution,
            "success",
            done.format(name=distribution),
            after_delete=service is services.distribution_delete,
        )

    return view


distribution_send = _transition(services.distribution_send, "“{name}” is on its way.")
distribution_pause = _transition(services.distribution_pause, "“{name}” paused.")


@membership_required(can_edit=True)
@require_POST
def distribution_resume(request: HttpRequest, public_id: str) -> HttpResponse:
    """Set live again; ticking "send again what failed" also replays the messages that failed for good."""
    distribution = access_distribution(request, public_id)
    try:
        services.distribution_resume(
            project=request.project,
            distribution=distribution,
            by=request.user,
            replay_failed=request.POST.get("replay_failed") == "1",
        )
    except DistributionRefused as error:
        return _outcome(request, distribution, "error", error.details)
    return _outcome(request, distribution, "success", f"“{distribution}” resumed.")


distribution_cancel = _transition(services.distribution_cancel, "Sending of “{name}” canceled.")
distribution_delete = _transition(services.distribution_delete, "“{name}” deleted.")
