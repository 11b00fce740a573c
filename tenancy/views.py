"""Dashboard: overview, project switcher, project settings, API keys and members."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from customers.models import Customer
from tenancy import services
from tenancy.access import (
    access_api_key,
    access_membership,
    access_project_membership,
    membership_required,
    require_owner_for,
)
from tenancy.forms import ApiKeyCreateForm, MemberAddForm, MemberRoleForm, ProjectSettingsForm, role_choices
from tenancy.middleware import SESSION_PROJECT_KEY
from tenancy.models import Role


@membership_required
def home(request: HttpRequest) -> HttpResponse:
    project = request.project
    return render(
        request,
        "tenancy/home.html",
        {
            "customer_count": Customer.objects.for_project(project).count(),
            "active_api_key_count": project.api_keys.filter(revoked_at__isnull=True).count(),
            "member_count": project.memberships.count(),
        },
    )


@login_required
@require_POST
def project_switch(request: HttpRequest) -> HttpResponse:
    """Select another of the user's projects for this session; any other project is a 404."""
    membership = access_project_membership(request, request.POST.get("project", ""))
    request.session[SESSION_PROJECT_KEY] = membership.project_id
    return redirect("dashboard:home")


# Project settings --------------------------------------------------------------------------------


@membership_required
def project_settings(request: HttpRequest) -> HttpResponse:
    """Everyone in the project sees the settings; owners and admins get a form."""
    form = ProjectSettingsForm(instance=request.project) if request.membership.can_manage_project else None
    from messaging.limits import has_limits, pending_unlock_request

    limits = {
        "has_limits": has_limits(request.project),
        "unlock_request": pending_unlock_request(request.project),
    }
    return render(request, "tenancy/settings.html", {"form": form, **limits})


@membership_required(can_manage_project=True)
@require_POST
def project_settings_update(request: HttpRequest) -> HttpResponse:
    form = ProjectSettingsForm(request.POST, instance=request.project)
    if not form.is_valid():
        return render(request, "tenancy/settings.html", {"form": form})
    form.save()
    messages.success(request, "Project settings saved.")
    return redirect("dashboard:settings")


# API keys ----------------------------------------------------------------------------------------


def _render_api_keys(request: HttpRequest, form: ApiKeyCreateForm, **extra) -> HttpResponse:
    api_keys = request.project.api_keys.order_by("-created_at")
    return render(request, "tenancy/api_keys.html", {"api_keys": api_keys, "form": form, **extra})


@membership_required(can_manage_project=True)
def api_keys(request: HttpRequest) -> HttpResponse:
    return _render_api_keys(request, ApiKeyCreateForm())


@never_cache  # the response carries the only copy of the token
@membership_required(can_manage_project=True)
@require_POST
def api_key_create(request: HttpRequest) -> HttpResponse:
    """Create a key and show its token in this response only: it is stored hashed, never in the session."""
    form = ApiKeyCreateForm(request.POST)
    if not form.is_valid():
        return _render_api_keys(request, form)
    api_key, token = services.api_key_create(project=request.project, name=form.cleaned_data["name"])
    return _render_api_keys(request, ApiKeyCreateForm(), created_key=api_key, created_token=token)


@membership_required(can_manage_project=True)
def api_key_revoke(request: HttpRequest, app_id: str) -> HttpResponse:
    """GET asks for confirmation; POST revokes."""
    api_key = access_api_key(request, app_id)
    if request.method == "POST":
        if api_key.is_active:
            services.api_key_revoke(project=request.project, api_key=api_key)
            messages.success(request, f"API key “{api_key.name}” revoked. Requests using it now get a 401.")
        else:
            messages.info(request, f"API key “{api_key.name}” was already revoked.")
        return redirect("dashboard:api_keys")
    return render(request, "tenancy/api_key_revoke.html", {"api_key": api_key})


# Members -----------------------------------------------------------------------------------------


def _render_members(
    request: HttpRequest, add_form: MemberAddForm | None = None, status: int = 200
) -> HttpResponse:
    can_manage = request.membership.can_manage_project
    is_owner = request.membership.role == Role.OWNER
    if can_manage and add_form is None:
        add_form = MemberAddForm(project=request.project, can_grant_owner=is_owner)
    memberships = request.project.memberships.select_related("user").order_by("user__username")
    # Admins manage everyone but owners; only an owner can change or remove an owner.
    rows = [
        (membership, can_manage and (is_owner or membership.role != Role.OWNER)) for membership in memberships
    ]
    return render(
        request,
        "tenancy/members.html",
        {"rows": rows, "add_form": add_form, "role_choices": role_choices(can_grant_owner=is_owner)},
        status=status,
    )


@membership_required
def members(request: HttpRequest) -> HttpResponse:
    return _render_members(request)


@membership_required(can_manage_project=True)
@require_POST
def member_add(request: HttpRequest) -> HttpResponse:
    is_owner = request.membership.role == Role.OWNER
    form = MemberAddForm(request.POST, project=request.project, can_grant_owner=is_owner)
    if not form.is_valid():
        return _render_members(request, add_form=form)
    membership = services.membership_add(
        project=request.project, email=form.cleaned_data["email"], role=form.cleaned_data["role"]
    )
    messages.success(request, f"{membership.user.username} added as {membership.get_role_display().lower()}.")
    return redirect("dashboard:members")


@membership_required(can_manage_project=True)
@require_POST
def member_set_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = access_membership(request, membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Role: {form.errors['role'][0]}")
        return redirect("dashboard:members")
    role = form.cleaned_data["role"]
    require_owner_for(request, membership.role, role)
    if role == membership.role:
        messages.info(request, f"{membership.user.username} already is {Role(role).label.lower()}.")
        return redirect("dashboard:members")
    try:
        services.membership_set_role(project=request.project, membership=membership, role=role)
    except services.LastOwnerError:
        messages.error(
            request, f"{membership.user.username} is the last owner: make someone else an owner first."
        )
    else:
        messages.success(request, f"{membership.user.username} is now {Role(role).label.lower()}.")
    return redirect("dashboard:members")


@membership_required(can_manage_project=True)
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    """GET asks for confirmation; POST removes."""
    membership = access_membership(request, membership_id)
    require_owner_for(request, membership.role)
    if request.method != "POST":
        return render(request, "tenancy/member_remove.html", {"membership": membership})
    try:
        services.membership_remove(project=request.project, membership=membership)
    except services.LastOwnerError:
        messages.error(request, f"{membership.user.username} is the last owner and can't be removed.")
        return redirect("dashboard:members")
    messages.success(request, f"{membership.user.username} removed from {request.project.name}.")
    if membership.user_id == request.user.pk:
        return redirect("dashboard:home")
    return redirect("dashboard:members")


# Message limits: the unlock request -------------------------------------------------------------


@membership_required(can_manage_project=True)
@require_POST
def message_limit_unlock_request(request: HttpRequest) -> HttpResponse:
    """Ask the operator to lift the project's message limits (needs the brand details)."""
    from django.core.exceptions import ValidationError

    from messaging.limits import unlock_request_create

    try:
        unlock_request_create(
            project=request.project, requested_by=request.user, message=request.POST.get("message", "")[:2000]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Request sent. We will lift the limits once we have checked your details.")
    return redirect("dashboard:settings")
