"""Dashboard access: what the signed-in user may do in the selected project, and its objects by id.

Two rules, the same as the API's:
- an object is looked up inside `request.project` only, so another project's object is a 404 (the
  same answer as a missing one: existence does not leak);
- a member without the permission a write needs gets a 403 (they can see the project, so saying
  "not allowed" leaks nothing).

Use `@membership_required` on every dashboard view; give it the permission a write needs:

    @membership_required(can_manage_project=True)
    @require_POST
    def api_key_create(request): ...
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from campaigns.models import Campaign
from campaigns.selectors import campaign_get
from customers.models import Customer
from customers.selectors import customer_get
from distributions.models import Distribution
from distributions.selectors import distribution_get
from tenancy.models import ApiKey, Membership, Role

View = Callable[..., HttpResponse]


def membership_required(
    view: View | None = None, *, can_edit: bool = False, can_manage_project: bool = False
) -> View | Callable[[View], View]:
    """The view needs a signed-in member of a selected project, and optionally a permission.

    Anonymous users go to the login page. A user who belongs to no project sees a friendly page
    instead of the view (with a 403 for a write, since there is nothing to write to).
    `can_edit` admits owners, admins and marketers; `can_manage_project` admits owners and admins.
    """

    def decorator(view_func: View) -> View:
        @login_required
        @wraps(view_func)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            membership: Membership | None = request.membership
            if membership is None:
                status = 200 if request.method in ("GET", "HEAD") else 403
                return render(request, "tenancy/no_project.html", status=status)
            if can_edit and not membership.can_edit:
                raise PermissionDenied("Your role in this project is read-only.")
            if can_manage_project and not membership.can_manage_project:
                raise PermissionDenied("Only the project's owners and admins can do this.")
            return view_func(request, *args, **kwargs)

        return wrapper

    if view is not None:
        return decorator(view)
    return decorator


def require_owner_for(request: HttpRequest, *roles: str) -> None:
    """Only an owner may grant, take away or act on the owner role (an admin can't take over a project)."""
    if Role.OWNER in roles and request.membership.role != Role.OWNER:
        raise PermissionDenied("Only an owner can change owners.")


def access_customer(request: HttpRequest, identifier: str) -> Customer:
    """The project's customer by id or source_id: the same lookup the API uses."""
    customer = customer_get(project=request.project, identifier=identifier)
    if customer is None:
        raise Http404("No such customer.")
    return customer


def access_campaign(request: HttpRequest, identifier: str) -> Campaign:
    """The project's campaign by id or name, the API's lookup: another project's campaign is a 404."""
    campaign = campaign_get(project=request.project, identifier=identifier)
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def access_distribution(request: HttpRequest, public_id: str) -> Distribution:
    """The project's distribution (archived ones too, for their history); another project's is a 404."""
    distribution = distribution_get(project=request.project, public_id=public_id)
    if distribution is None:
        raise Http404("No such distribution.")
    return distribution


def access_api_key(request: HttpRequest, app_id: str) -> ApiKey:
    api_key = request.project.api_keys.filter(app_id=app_id).first()
    if api_key is None:
        raise Http404("No such API key.")
    return api_key


def access_membership(request: HttpRequest, membership_id: int) -> Membership:
    membership = request.project.memberships.select_related("user").filter(pk=membership_id).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def access_project_membership(request: HttpRequest, project_public_id: str) -> Membership:
    """The user's membership in the project with this public id: the only projects they may switch to."""
    membership = (
        request.user.memberships.select_related("project")
        .filter(project__public_id=project_public_id)
        .first()
    )
    if membership is None:
        raise Http404("No such project.")
    return membership
