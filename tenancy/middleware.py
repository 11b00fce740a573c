"""Dashboard requests: the session's selected project, the user's membership in it, and the event cause."""

from __future__ import annotations

from eventbus.cause import Cause, use_cause
from tenancy.ids import new_request_id
from tenancy.models import Membership

SESSION_PROJECT_KEY = "project_id"


class CurrentProjectMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        request.project = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/v1/"):
            memberships = Membership.objects.filter(user=user).select_related("project")
            selected = request.session.get(SESSION_PROJECT_KEY)
            membership = None
            if selected is not None:
                membership = memberships.filter(project_id=selected).first()
            if membership is None:
                membership = memberships.order_by("project__name").first()
                if membership is not None:
                    request.session[SESSION_PROJECT_KEY] = membership.project_id
            request.membership = membership
            request.project = membership.project if membership else None
            request.request_id = new_request_id()
            token = use_cause(
                Cause.from_request(request_id=request.request_id, channel="USER_PORTAL", user=user)
            )
            try:
                return self.get_response(request)
            finally:
                token.var.reset(token)
        return self.get_response(request)
