"""`X-App-Id` + `X-App-Token` authentication: the key names the project for the whole request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from tenancy.models import ApiKey, Project
from tenancy.rows import RowShape

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
        api_key = _api_key_with_project(app_id)
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


@cache
def _key_and_project_shapes() -> tuple[RowShape, RowShape, str]:
    key, project = RowShape(ApiKey, "k"), RowShape(Project, "p")
    sql = (
        f"SELECT {key.columns}, {project.columns} FROM {ApiKey._meta.db_table} k "  # noqa: S608
        f"JOIN {Project._meta.db_table} p ON p.id = k.project_id WHERE k.app_id = %s"
    )
    return key, project, sql


def _api_key_with_project(app_id: str) -> ApiKey | None:
    """The key named by `app_id` with its project, in one statement (every API request runs this)."""
    key_shape, project_shape, sql = _key_and_project_shapes()
    with connection.cursor() as cursor:
        cursor.execute(sql, [app_id])
        row = cursor.fetchone()
    if row is None:
        return None
    api_key = key_shape.load(row)
    api_key.project = project_shape.load(row, key_shape.width)
    return api_key


class HasProject(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if isinstance(request.user, ApiClient):
            return True
        raise exceptions.NotAuthenticated("Missing X-App-Id and X-App-Token headers.")
