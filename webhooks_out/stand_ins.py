"""Local stand-ins for the outside providers: our own app answers like Twilio, Mailchimp and Braze
under /sandbox/providers/<project public id>/<token>/<kind>/…, checks the credentials it gave out,
and records every call in the sandbox inbox, so the demo shows SMS and integration deliveries with no
outside service. Only what the channels and connection tests call is served:

- sms:       GET  2010-04-01/Accounts/<sid>.json, POST 2010-04-01/Accounts/<sid>/Messages.json
- mailchimp: GET  3.0/ping, PUT 3.0/lists/<list>/members/<hash>
- braze:     POST users/track
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from tenancy.models import Project
from webhooks_out.models import SandboxDelivery
from webhooks_out.services import MAX_SANDBOX_BODY, sandbox_token

KINDS = ("sms", "mailchimp", "braze")
SANDBOX_SENDER = "+15005550006"
SANDBOX_LIST_ID = "sandbox"


def _derived(project: Project, purpose: str) -> str:
    key = settings.SECRET_KEY.encode()
    message = f"sandbox-provider:{purpose}:{project.public_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def stand_in_credentials(project: Project, kind: str) -> dict[str, str]:
    """The credentials the project's stand-in of `kind` accepts (derived: nothing to store)."""
    if kind == "sms":
        return {
            "account_sid": "AC" + _derived(project, "sms-sid"),
            "auth_token": _derived(project, "sms-token"),
            "sender": SANDBOX_SENDER,
        }
    if kind == "mailchimp":
        return {"api_key": _derived(project, "mailchimp") + "-sandbox", "list_id": SANDBOX_LIST_ID}
    return {"api_key": _derived(project, "braze")}


def stand_in_base_url(project: Project, kind: str, *, base_url: str | None = None) -> str:
    path = reverse("sandbox_provider_root", args=[project.public_id, sandbox_token(project), kind])
    return (base_url or settings.SITE_URL).rstrip("/") + path.rstrip("/")


def _authorized(request: HttpRequest, project: Project, kind: str) -> bool:
    expected = stand_in_credentials(project, kind)
    header = request.headers.get("Authorization", "")
    if kind == "braze":
        return hmac.compare_digest(header, f"Bearer {expected['api_key']}")
    scheme, _, encoded = header.partition(" ")
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    if scheme != "Basic":
        return False
    if kind == "sms":
        return hmac.compare_digest(user, expected["account_sid"]) and hmac.compare_digest(
            password, expected["auth_token"]
        )
    return hmac.compare_digest(password, expected["api_key"])


def _record(request: HttpRequest, project: Project, kind: str) -> SandboxDelivery:
    headers = {name: value for name, value in request.headers.items() if name.lower() != "authorization"}
    return SandboxDelivery.objects.create(
        project=project,
        kind=kind,
        request_line=f"{request.method} {request.path.split(f'/{kind}/', 1)[-1]}"[:300],
        headers=headers,
        body=request.body[:MAX_SANDBOX_BODY].decode("utf-8", errors="replace"),
    )


_ACCOUNT = re.compile(r"2010-04-01/Accounts/(?P<sid>[^/]+)\.json")
_MESSAGES = re.compile(r"2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json")
_MEMBER = re.compile(r"3\.0/lists/(?P<list>[^/]+)/members/(?P<hash>[0-9a-f]{32})")


def _refused(kind: str) -> JsonResponse:
    if kind == "sms":
        return JsonResponse({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
    if kind == "mailchimp":
        return JsonResponse({"title": "API Key Invalid", "status": 401}, status=401)
    return JsonResponse({"message": "Invalid API key"}, status=401)


@csrf_exempt
def sandbox_provider(
    request: HttpRequest, project_public_id: str, token: str, kind: str, rest: str = ""
) -> HttpResponse:
    project = Project.objects.filter(public_id=project_public_id).first()
    if project is None or kind not in KINDS or not hmac.compare_digest(sandbox_token(project), token):
        raise Http404("No sandbox provider here.")
    if not _authorized(request, project, kind):
        return _refused(kind)
    method = request.method
    if kind == "sms" and method == "GET" and _ACCOUNT.fullmatch(rest):
        return JsonResponse({"sid": _ACCOUNT.fullmatch(rest)["sid"], "status": "active"})
    if kind == "sms" and method == "POST" and _MESSAGES.fullmatch(rest):
        _record(request, project, kind)
        sid = "SM" + uuid.uuid4().hex
        return JsonResponse({"sid": sid, "status": "queued", "to": request.POST.get("To")}, status=201)
    if kind == "mailchimp" and method == "GET" and rest == "3.0/ping":
        return JsonResponse({"health_status": "Everything's Chimpy!"})
    if kind == "mailchimp" and method == "PUT" and _MEMBER.fullmatch(rest):
        _record(request, project, kind)
        try:
            email = json.loads(request.body).get("email_address", "")
        except (ValueError, AttributeError):
            return JsonResponse({"title": "Invalid Resource", "status": 400}, status=400)
        return JsonResponse(
            {"id": _MEMBER.fullmatch(rest)["hash"], "email_address": email, "status": "transactional"}
        )
    if kind == "braze" and method == "POST" and rest == "users/track":
        try:
            attributes = json.loads(request.body).get("attributes") or []
        except (ValueError, AttributeError):
            return JsonResponse({"message": "Invalid JSON"}, status=400)
        if attributes:  # the connection test tracks nothing: not a delivery
            _record(request, project, kind)
        return JsonResponse({"message": "success", "attributes_processed": len(attributes)}, status=201)
    return JsonResponse(
        {"message": f"The sandbox {kind} stand-in does not serve {method} {rest}."}, status=404
    )
