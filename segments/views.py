"""Dashboard: the segment list with live sync badges, a segment page (filter in words, members,
recent syncs, CSV upload for static segments) and the new-segment form with a live estimated count."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from customers.services import CustomerNotFound
from segments import history, services
from segments.filters.words import describe_filter
from segments.forms import SegmentForm, StaticCustomersUploadForm
from segments.models import Segment, SegmentMember, SegmentSyncJob
from segments.selectors import filter_estimated_count, segment_get, segments_listed
from tenancy.access import membership_required

MEMBERS_PAGE_SIZE = 50


def access_segment(request: HttpRequest, identifier: str) -> Segment:
    """The project's segment by public id: another project's segment is a 404, as a missing one."""
    segment = segment_get(project=request.project, identifier=identifier)
    if segment is None:
        raise Http404("No such segment.")
    return segment


@vary_on_headers("HX-Request")
@membership_required
def segment_list(request: HttpRequest) -> HttpResponse:
    segments = list(segments_listed(project=request.project)[:200])
    is_syncing = any(segment.status == Segment.Status.SYNCING for segment in segments)
    context = {"segments": segments, "is_syncing": is_syncing}
    if request.htmx:
        return render(request, "segments/segment_list.html#segment_table", context)
    return render(request, "segments/segment_list.html", context)


def _members_page(request: HttpRequest, segment: Segment) -> tuple[list[SegmentMember], int | None]:
    """Keyset paging by customer id, so a million-member segment's last page costs what the first does."""
    try:
        after = int(request.GET.get("after", 0))
    except ValueError:
        after = 0
    rows = list(
        SegmentMember.objects.for_project(request.project)
        .filter(segment=segment, customer_id__gt=after)
        .select_related("customer")
        .order_by("customer_id")[: MEMBERS_PAGE_SIZE + 1]
    )
    next_after = rows[MEMBERS_PAGE_SIZE - 1].customer_id if len(rows) > MEMBERS_PAGE_SIZE else None
    return rows[:MEMBERS_PAGE_SIZE], next_after


@vary_on_headers("HX-Request")
@membership_required
def segment_detail(request: HttpRequest, identifier: str) -> HttpResponse:
    segment = access_segment(request, identifier)
    if request.htmx and request.GET.get("part") == "sync":
        return render(request, "segments/segment_detail.html#sync_status", {"segment": segment})
    members, next_after = _members_page(request, segment)
    jobs = list(
        SegmentSyncJob.objects.for_project(request.project)
        .filter(segment=segment)
        .order_by("-created_at", "-pk")[:10]
    )
    context = {
        "segment": segment,
        "filter_words": describe_filter(segment.filter),
        "members": members,
        "next_after": next_after,
        "jobs": jobs,
        "size_chart": history.size_chart(project=request.project, segment=segment),
        "upload_form": StaticCustomersUploadForm(),
    }
    return render(request, "segments/segment_detail.html", context)


@membership_required(can_edit=True)
def segment_new(request: HttpRequest) -> HttpResponse:
    form = SegmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        segment = services.segment_create(
            project=request.project,
            name=data["name"],
            type=data["type"],
            filter=data.get("filter"),
            reentry_cooldown_seconds=data.get("reentry_cooldown_seconds") or 0,
        )
        messages.success(request, f"Segment “{segment.name}” created.")
        return redirect("segments:detail", segment.public_id)
    return render(request, "segments/segment_new.html", {"form": form})


@membership_required(can_edit=True)
def segment_edit(request: HttpRequest, identifier: str) -> HttpResponse:
    """Rename, change the cooldown or replace the filter (pasted as JSON): a new filter re-syncs."""
    segment = access_segment(request, identifier)
    initial = {
        "name": segment.name,
        "type": segment.type,
        "filter_json": json.dumps(segment.filter, indent=2) if segment.filter else "",
        "reentry_cooldown_seconds": segment.reentry_cooldown_seconds,
    }
    data = None
    if request.method == "POST":
        data = request.POST.copy()
        data["type"] = segment.type  # the type is fixed once created
    form = SegmentForm(data, initial=initial)
    if request.method == "POST" and form.is_valid():
        cleaned = form.cleaned_data
        filter_changed = segment.has_filter and cleaned.get("filter") != segment.filter
        services.segment_update(
            project=request.project,
            segment=segment,
            name=cleaned["name"],
            filter=cleaned.get("filter") if filter_changed else None,
            reentry_cooldown_seconds=cleaned.get("reentry_cooldown_seconds") or 0,
        )
        messages.success(
            request, "Segment saved." + (" Re-syncing with the new filter." if filter_changed else "")
        )
        return redirect("segments:detail", segment.public_id)
    return render(request, "segments/segment_new.html", {"form": form, "segment": segment})


@membership_required
@require_POST
def segment_estimate(request: HttpRequest) -> HttpResponse:
    """The live count under the filter builder: how many customers the filter selects right now."""
    form = SegmentForm(request.POST)
    form.is_valid()
    compiled = form.cleaned_data.get("compiled") if hasattr(form, "cleaned_data") else None
    context = {"form": form, "count": None}
    if compiled is not None and not form.non_field_errors():
        context["count"] = filter_estimated_count(project=request.project, filter=form.cleaned_data["filter"])
    return render(request, "segments/segment_new.html#estimate", context)


@membership_required(can_edit=True)
@require_POST
def segment_upload(request: HttpRequest, identifier: str) -> HttpResponse:
    segment = access_segment(request, identifier)
    form = StaticCustomersUploadForm(request.POST, request.FILES)
    if segment.type != Segment.Type.STATIC:
        messages.error(request, "Only a static segment takes a list of customers.")
    elif not form.is_valid():
        messages.error(request, "; ".join(error for errors in form.errors.values() for error in errors))
    else:
        try:
            added = services.segment_add_customers(
                project=request.project, segment=segment, customers=form.cleaned_data["file"]
            )
        except CustomerNotFound as missing:
            messages.error(request, f"No customer {missing.identifier} in this project: nothing was added.")
        else:
            messages.success(request, f"{added} customer{'s' if added != 1 else ''} added.")
    return redirect("segments:detail", segment.public_id)


@membership_required(can_edit=True)
@require_POST
def segment_resync(request: HttpRequest, identifier: str) -> HttpResponse:
    segment = access_segment(request, identifier)
    services.segment_resync(project=request.project, segment=segment)
    return redirect("segments:detail", segment.public_id)


@membership_required(can_edit=True)
@require_POST
def segment_delete(request: HttpRequest, identifier: str) -> HttpResponse:
    segment = access_segment(request, identifier)
    try:
        services.segment_delete(project=request.project, segment=segment)
    except services.SegmentInUse as error:
        messages.error(request, str(error))
        return redirect("segments:detail", identifier=segment.public_id)
    messages.success(request, f"Segment “{segment.name}” deleted.")
    return redirect("segments:list")
