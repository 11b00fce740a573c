"""The message editor of a distribution's channel: email blocks, SMS, webhook payload, Mailchimp/Braze.

One page per channel at `/distributions/<id>/channels/<kind>/editor/`. The page posts its whole state
on every change; the server checks it with the code that saves and delivers, and answers with
fragments (django-template-partials): a structural change (add, move, remove a block; a starting
point) re-renders the block list and moves focus, a typed change updates only the preview and the
errors next to each field. Nothing is stored until Save, which writes through
`distribution_channel_template_save`. Every POST works without htmx too (the full page comes back).

Viewers open the same page read-only (no controls) and get 403 on any POST; another project's
distribution is a 404; a distribution that started sending refuses edits and says so.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from distributions import catalogue
from messaging.editor.channel_editors import integration_editor, sms_editor, webhook_editor
from messaging.editor.email_editor import email_editor
from messaging.editor.pages import base_context, picker_customers, refused
from tenancy.access import access_distribution, membership_required


@vary_on_headers("HX-Request")
@membership_required
@require_http_methods(["GET", "POST"])
def channel_editor(request: HttpRequest, public_id: str, kind: str) -> HttpResponse:
    distribution = access_distribution(request, public_id)
    if catalogue.channel(kind) is None:
        raise Http404("No such channel.")
    context = base_context(request, distribution, kind)
    if request.method == "POST":
        if not request.membership.can_edit:
            raise PermissionDenied("Your role in this project is read-only.")
        if context["read_only_reason"]:
            return refused(request, context, context["read_only_reason"])
    editor = {"email": email_editor, "sms": sms_editor, "webhook": webhook_editor}.get(
        kind, integration_editor
    )
    return editor(request, distribution, context)


# --- The customer picker ----------------------------------------------------------------------------


@membership_required
@require_GET
def customer_picker(request: HttpRequest, public_id: str, kind: str) -> HttpResponse:
    """The picker's list for a search: the chosen customer first, then the newest matches."""
    distribution = access_distribution(request, public_id)
    if catalogue.channel(kind) is None:
        raise Http404("No such channel.")
    context = base_context(request, distribution, kind)
    context["picker"] = picker_customers(
        request.project, request.GET.get("q", "").strip()[:200], context["customer"]
    )
    context["q"] = request.GET.get("q", "")
    return render(request, "messaging/editor/page.html#picker_results", context)
