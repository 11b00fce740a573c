"""`X-App-Id` + `X-App-Token` authentication: the key names the project for the whole request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from tenancy.models import ApiKey, Project

# Writing last_used_at on every request would turn each read into a write; a minute is precise enough.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiClient:
    """The caller of an API request: the project its key belongs to."""

    project: Project
    api_key: ApiKey
    is_authenticated: bool = True


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        app_id = request.headers.get("X-App-Id")
        token = request.headers.get("X-App-Token")
        if not app_id and not token:
            return None
        if not app_id or not token:
            raise exceptions.AuthenticationFailed("Both X-App-Id and X-App-Token headers are required.")
        api_key = ApiKey.objects.select_related("project").filter(app_id=app_id).first()
        if api_key is None or not api_key.matches(token):
            raise exceptions.AuthenticationFailed("Invalid X-App-Id or X-App-Token.")
        if not api_key.is_active:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_PRECISION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return ApiClient(project=api_key.project, api_key=api_key), api_key

    def authenticate_header(self, request) -> str:
        return 'X-App-Token realm="api"'


class HasProject(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if isinstance(request.user, ApiClient):
            return True
        raise exceptions.NotAuthenticated("Missing X-App-Id and X-App-Token headers.")
