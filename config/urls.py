from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.renderers import OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from tenancy.api.errors import json_error_response
from tenancy.health import healthz


def api_not_found(request, *args, **kwargs):
    return json_error_response(
        request, 404, "not_found", "Resource not found", f"No API endpoint at {request.path}."
    )


api_urlpatterns = [
    path(
        "openapi.json",
        SpectacularAPIView.as_view(
            renderer_classes=[OpenApiJsonRenderer2], authentication_classes=[], permission_classes=[]
        ),
        name="openapi",
    ),
    path(
        "docs",
        SpectacularRedocView.as_view(url_name="openapi", authentication_classes=[], permission_classes=[]),
        name="api-docs",
    ),
    path("", include("customers.api.urls")),
    path("", include("campaigns.api.urls")),
    path("", include("distributions.api.urls")),
    path("", include("segments.api.urls")),
    path("", include("messaging.api.urls")),
    re_path(r"^.*$", api_not_found),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("v1/", include(api_urlpatterns)),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("customers/", include("customers.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("distributions/", include("messaging.editor.urls")),
    path("distributions/", include("distributions.urls")),
    path("sandbox/", include("webhooks_out.urls")),
    path("segments/", include("segments.urls")),
    path("", include("messaging.urls")),
    path("", include("tenancy.urls")),
]


def server_error(request, *args, **kwargs):
    from django.views.defaults import server_error as html_server_error

    if request.path.startswith("/v1/"):
        return json_error_response(
            request, 500, "internal_error", "Internal error", "An unexpected error occurred."
        )
    return html_server_error(request)


handler500 = server_error
