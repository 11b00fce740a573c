"""The sandbox receiver: an endpoint of our own that records webhooks, and the page that shows them.

The receiving URL carries the project's public id and a token derived from the secret key, so it
needs no login and no CSRF token (it is called by our own workers, like any outside receiver).
"""

from __future__ import annotations

import hmac

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tenancy.access import membership_required
from tenancy.models import Project
from webhooks_out.models import SandboxDelivery, WebhookEndpoint
from webhooks_out.services import sandbox_delivery_record, sandbox_token, sandbox_url

RECENT_DELIVERIES = 50


@csrf_exempt
@require_POST
def sandbox_webhook_receive(request: HttpRequest, project_public_id: str, token: str) -> HttpResponse:
    project = Project.objects.filter(public_id=project_public_id).first()
    if project is None or not hmac.compare_digest(sandbox_token(project), token):
        raise Http404("No sandbox receiver here.")
    delivery = sandbox_delivery_record(project=project, headers=dict(request.headers), body=request.body)
    return JsonResponse({"received": True, "id": delivery.pk})


@membership_required
def sandbox_inbox(request: HttpRequest) -> HttpResponse:
    project = request.project
    deliveries = SandboxDelivery.objects.for_project(project).order_by("-received_at", "-pk")[
        :RECENT_DELIVERIES
    ]
    endpoints = WebhookEndpoint.objects.for_project(project).order_by("created_at")
    return render(
        request,
        "webhooks_out/sandbox_inbox.html",
        {
            "deliveries": deliveries,
            "endpoints": endpoints,
            "receiver_url": sandbox_url(project, base_url=request.build_absolute_uri("/")),
            "total": SandboxDelivery.objects.for_project(project).count(),
        },
    )
