from tenancy.models import Membership


def current_project(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_project": getattr(request, "project", None),
        "current_membership": getattr(request, "membership", None),
        "user_memberships": Membership.objects.filter(user=user)
        .select_related("project")
        .order_by("project__name"),
    }
