"""Dashboard: the project's SMS, Mailchimp and Braze provider accounts (owners and admins only).

Saving runs the provider's connection test; refused credentials are shown on the form and nothing
is saved. Secrets are never rendered back: the form shows whether one is set, and a blank secret
keeps the saved one.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from messaging.models import ChannelProvider
from messaging.providers import SPECS, channel_provider_create, channel_provider_update, provider_get
from tenancy.access import membership_required


def provider_form(kind: str, provider: ChannelProvider | None, data=None) -> forms.Form:
    spec = SPECS[kind]
    form = forms.Form(data=data, prefix=kind)
    form.fields["base_url"] = forms.CharField(
        label="Base URL",
        required=False,
        max_length=500,
        initial=provider.base_url if provider else "",
        help_text=f"Leave blank for the provider's own API ({spec.default_base_url}).",
    )
    for name in spec.fields:
        if name in spec.secret_fields:
            form.fields[name] = forms.CharField(
                label=spec.labels[name],
                required=provider is None,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                help_text="Saved; leave blank to keep it." if provider else "",
            )
        else:
            form.fields[name] = forms.CharField(
                label=spec.labels[name],
                max_length=500,
                initial=provider.settings.get(name, "") if provider else "",
            )
    form.fields["is_active"] = forms.BooleanField(
        label="Active", required=False, initial=provider.is_active if provider else True
    )
    form.kind, form.title, form.provider = kind, ChannelProvider.Kind(kind).label, provider
    return form


def _render(request: HttpRequest, forms_by_kind: dict[str, forms.Form] | None = None, status: int = 200):
    forms_by_kind = forms_by_kind or {}
    cards = [
        forms_by_kind.get(kind) or provider_form(kind, provider_get(project=request.project, kind=kind))
        for kind in SPECS
    ]
    return render(request, "messaging/providers.html", {"provider_forms": cards}, status=status)


@membership_required(can_manage_project=True)
def provider_settings(request: HttpRequest) -> HttpResponse:
    return _render(request)


@membership_required(can_manage_project=True)
@require_POST
def provider_save(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in SPECS:
        raise Http404("No such provider kind.")
    provider = provider_get(project=request.project, kind=kind)
    form = provider_form(kind, provider, data=request.POST)
    if not form.is_valid():
        return _render(request, {kind: form}, status=400)
    data = form.cleaned_data
    values = {name: data[name] for name in SPECS[kind].fields}
    try:
        if provider is None:
            channel_provider_create(
                project=request.project,
                kind=kind,
                settings=values,
                base_url=data["base_url"],
                is_active=data["is_active"],
            )
        else:
            channel_provider_update(
                project=request.project,
                provider=provider,
                settings=values,
                base_url=data["base_url"],
                is_active=data["is_active"],
            )
    except ValidationError as error:
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
        return _render(request, {kind: form}, status=400)
    messages.success(request, f"{form.title} saved: the connection test passed.")
    return redirect("dashboard:provider_settings")
