"""The operator's view (`/operator/`): staff of whoever runs this installation, not a tenant's own
admins, decide the projects' requests to lift their message limits. Cross-tenant by design."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from messaging.limits import unlock_request_approve, unlock_request_reject
from messaging.models import MessageLimitUnlockRequest

RECENT_DECIDED = 50


@staff_member_required
def operator_home(request: HttpRequest) -> HttpResponse:
    requests = MessageLimitUnlockRequest.objects.unscoped().select_related("project", "requested_by")
    return render(
        request,
        "messaging/operator.html",
        {
            "pending": requests.filter(state=MessageLimitUnlockRequest.State.PENDING).order_by("created_at"),
            "decided": requests.exclude(state=MessageLimitUnlockRequest.State.PENDING).order_by(
                "-decided_at"
            )[:RECENT_DECIDED],
        },
    )


@staff_member_required
@require_POST
def operator_decide(request: HttpRequest, request_id: int, decision: str) -> HttpResponse:
    if decision not in ("approve", "reject"):
        raise Http404("No such decision.")
    unlock = get_object_or_404(
        MessageLimitUnlockRequest.objects.unscoped().select_related("project"), pk=request_id
    )
    if decision == "approve":
        decided = unlock_request_approve(request=unlock, operator=request.user)
        messages.success(
            request,
            f"{unlock.project.name}: limits lifted; {decided.released} held messages released, "
            f"{decided.expired} expired.",
        )
    else:
        unlock_request_reject(request=unlock, operator=request.user)
        messages.success(request, f"{unlock.project.name}: request rejected.")
    return redirect("operator_home")
