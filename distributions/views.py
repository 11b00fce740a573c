"""Dashboard: the distribution list and the distribution page (Details, Audience, Analytics, Activity).

Plain pages for now; the four-step htmx wizard comes later. Every write goes through the same
services as the API; viewers see everything and change nothing (403).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from distributions import catalogue, services
from distributions.analytics import activity_timeline, distribution_analytics
from distributions.charts import delivery_charts
from distributions.models import ActivityKind, Distribution, DistributionStatus
from distributions.services import DistributionRefused
from tenancy.access import access_distribution, membership_required
from tenancy.api.errors import ApiError

LIST_PAGE_SIZE = 50
ACTIVITY_PAGE_SIZE = 50
TABS = ("details", "audience", "analytics", "activity")
# The list's status filter: the states a marketer thinks in (archived ones are hidden).
LIST_STATUSES = [s for s in DistributionStatus if s != DistributionStatus.ARCHIVED]


@membership_required
def distribution_list(request: HttpRequest) -> HttpResponse:
    distributions = Distribution.objects.for_project(request.project).visible()
    q = request.GET.get("q", "").strip()[:200]
    status = request.GET.get("status", "")
    category = request.GET.get("category", "")
    if q:
        distributions = distributions.filter(name__icontains=q)
    if status in DistributionStatus.values:
        distributions = distributions.filter(status=status)
    if category in catalogue.Category.__members__.values():
        distributions = distributions.filter(
            trigger_key__in=[t.key for t in catalogue.search_triggers(category=category)]
        )
    distributions = distributions.order_by("-created_at", "-pk")
    page = Paginator(distributions, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    filters = urlencode(
        {name: value for name, value in (("q", q), ("status", status), ("category", category)) if value}
    )
    return render(
        request,
        "distributions/distribution_list.html",
        {
            "page": page,
            "q": q,
            "status": status,
            "category": category,
            "statuses": LIST_STATUSES,
            "categories": [(str(c), catalogue.CATEGORY_LABELS[c]) for c in catalogue.Category],
            "filters": filters,
        },
    )


def _activity_page(request: HttpRequest, distribution: Distribution) -> tuple[list[dict], str | None]:
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
        since=None,
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
        }
        next_url = reverse("distributions:detail", args=[distribution.public_id]) + "?" + urlencode(params)
    return rows, next_url


ANALYTICS_RANGES = {
    "24h": (timedelta(hours=24), "hour"),
    "7d": (timedelta(days=7), "day"),
    "30d": (timedelta(days=30), "day"),
}


def _analytics(request: HttpRequest, distribution: Distribution) -> dict:
    """The chart and the table of the Analytics tab, over the chosen range (in the project's time zone)."""
    chosen = request.GET.get("range", "7d")
    if chosen not in ANALYTICS_RANGES:
        chosen = "7d"
    span, interval = ANALYTICS_RANGES[chosen]
    until = timezone.now() + timedelta(seconds=1)
    report = distribution_analytics(
        project=request.project, distribution=distribution, since=until - span, until=until, interval=interval
    )
    label = "%H:%M" if interval == "hour" else "%b %d"
    with timezone.override(zoneinfo.ZoneInfo(request.project.timezone)):
        return {
            "report": report,
            "charts": delivery_charts(report["series"], label_format=label),
            "ranges": list(ANALYTICS_RANGES),
            "range": chosen,
        }


@membership_required
def distribution_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    distribution = access_distribution(request, public_id)
    tab = request.GET.get("tab", "details")
    if tab not in TABS:
        tab = "details"
    context = {
        "distribution": distribution,
        "tab": tab,
        "tabs": TABS,
        "trigger": catalogue.trigger(distribution.trigger_key),
        "action": catalogue.action(distribution.action_key),
        "channels": list(distribution.channels.all()),
        "problems": services.distribution_problems(project=request.project, distribution=distribution)
        if distribution.status == DistributionStatus.DRAFT
        else [],
    }
    if tab == "analytics":
        context.update(_analytics(request, distribution))
    if tab == "activity":
        context["activities"], context["next_url"] = _activity_page(request, distribution)
        context["activity_kinds"] = [*ActivityKind.choices, ("message", "Message outcomes")]
        context["kind"] = request.GET.get("kind", "")
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
            messages.error(request, error.details)
        else:
            messages.success(request, done)
        if service is services.distribution_delete:
            return redirect("distributions:list")
        return redirect("distributions:detail", public_id=distribution.public_id)

    return view


distribution_send = _transition(services.distribution_send, "Distribution sent.")
distribution_pause = _transition(services.distribution_pause, "Distribution paused.")


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
        messages.error(request, error.details)
    else:
        messages.success(request, "Distribution resumed.")
    return redirect("distributions:detail", public_id=distribution.public_id)


distribution_cancel = _transition(services.distribution_cancel, "Distribution canceled.")
distribution_delete = _transition(services.distribution_delete, "Distribution deleted.")
