"""Voucherify's error body for every API error: `code`, `key`, `message`, `details`, `request_id`."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from tenancy.ids import new_request_id

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error with an explicit Voucherify key, raised by API views and translated services."""

    def __init__(
        self,
        *,
        status_code: int,
        key: str,
        message: str,
        details: str = "",
        resource_id: str | None = None,
        resource_type: str | None = None,
        headers: dict[str, str] | None = None,
        error_message: str | None = None,
    ) -> None:
        super().__init__(detail=details or message)
        self.status_code = status_code
        self.key = key
        self.message = message
        self.details = details or message
        self.resource_id = resource_id
        self.resource_type = resource_type
        self.headers = headers or {}
        # A user-written message (a validation rule's), returned as the body's `error.message`.
        self.error_message = error_message


def not_found(resource_type: str, resource_id: str) -> ApiError:
    return ApiError(
        status_code=404,
        key="not_found",
        message="Resource not found",
        details=f"Cannot find {resource_type} with id {resource_id}",
        resource_id=resource_id,
        resource_type=resource_type,
    )


def invalid_payload(details: str) -> ApiError:
    return ApiError(status_code=400, key="invalid_payload", message="Invalid payload", details=details)


def invalid_query_params(details: str) -> ApiError:
    return ApiError(
        status_code=400, key="invalid_query_params", message="Invalid query params", details=details
    )


def request_id_of(request: Any) -> str:
    request_id = getattr(request, "request_id", None)
    if request_id is None:
        request_id = new_request_id()
        if request is not None:
            request.request_id = request_id
    return request_id


def error_body(
    *,
    request: Any,
    code: int,
    key: str,
    message: str,
    details: str,
    resource_id: str | None = None,
    resource_type: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "key": key,
        "message": message,
        "details": details,
        "request_id": request_id_of(request),
    }
    if resource_id is not None:
        body["resource_id"] = resource_id
    if resource_type is not None:
        body["resource_type"] = resource_type
    return body


def describe_validation_errors(detail: Any, path: str = "") -> list[str]:
    """Flatten DRF's nested error detail into `Property .a.b: message` sentences naming each field."""
    if isinstance(detail, dict):
        sentences = []
        for field, inner in detail.items():
            child = f"{path}.{field}" if field != "non_field_errors" else path
            sentences.extend(describe_validation_errors(inner, child))
        return sentences
    if isinstance(detail, list):
        sentences = []
        for index, inner in enumerate(detail):
            # A list of dicts is per-item errors of a `many` field (valid items are `{}`); a list of
            # strings is several messages about the field itself.
            item_path = f"{path}[{index}]" if isinstance(inner, dict | list) else path
            sentences.extend(describe_validation_errors(inner, item_path))
        return sentences
    text = str(detail)
    return [f"Property {path}: {text}" if path else text]


_SIMPLE_KEYS = {
    status.HTTP_401_UNAUTHORIZED: ("unauthorized", "Unauthorized"),
    status.HTTP_403_FORBIDDEN: ("forbidden", "Forbidden"),
    status.HTTP_404_NOT_FOUND: ("not_found", "Resource not found"),
    status.HTTP_405_METHOD_NOT_ALLOWED: ("method_not_allowed", "Method not allowed"),
    status.HTTP_406_NOT_ACCEPTABLE: ("not_acceptable", "Not acceptable"),
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: ("unsupported_media_type", "Unsupported media type"),
    status.HTTP_429_TOO_MANY_REQUESTS: ("too_many_requests", "API limit reached"),
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApiError):
        body = error_body(
            request=request,
            code=exc.status_code,
            key=exc.key,
            message=exc.message,
            details=exc.details,
            resource_id=exc.resource_id,
            resource_type=exc.resource_type,
        )
        if exc.error_message:
            body["error"] = {"message": exc.error_message}
        return Response(body, status=exc.status_code, headers=exc.headers)
    if isinstance(exc, exceptions.ValidationError):
        details = "; ".join(describe_validation_errors(exc.detail)) or "Invalid payload"
        body = error_body(
            request=request, code=400, key="invalid_payload", message="Invalid payload", details=details
        )
        return Response(body, status=400)
    if isinstance(exc, exceptions.ParseError):
        body = error_body(
            request=request,
            code=400,
            key="invalid_payload",
            message="Invalid payload",
            details=str(exc.detail),
        )
        return Response(body, status=400)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        body = error_body(
            request=request, code=401, key="unauthorized", message="Unauthorized", details=str(exc.detail)
        )
        # A 401 names its scheme (RFC 9110); DRF's own handler would add this header, ours must too.
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        return Response(body, status=401, headers=headers)
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        headers["Retry-After"] = str(wait)
    if isinstance(exc, exceptions.APIException):
        code = exc.status_code
        key, message = _SIMPLE_KEYS.get(code, ("error", "Error"))
        body = error_body(request=request, code=code, key=key, message=message, details=str(exc.detail))
        return Response(body, status=code, headers=headers)

    logger.exception("Unhandled API error", exc_info=exc)
    body = error_body(
        request=request,
        code=500,
        key="internal_error",
        message="Internal error",
        details="An unexpected error occurred.",
    )
    return Response(body, status=500)


def json_error_response(request: Any, code: int, key: str, message: str, details: str) -> JsonResponse:
    """For errors raised outside DRF (unknown `/v1/` URLs, crashes in middleware)."""
    body = error_body(request=request, code=code, key=key, message=message, details=details)
    response = JsonResponse(body, status=code)
    response["X-Request-Id"] = body["request_id"]
    return response
