"""The base of every `/v1/` view: project from the API key, body limit, rate limit, idempotency."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eventbus.cause import Cause, use_cause
from tenancy.api import idempotency, ratelimit
from tenancy.api.errors import ApiError, request_id_of
from tenancy.models import Project


class _ReplayResponse(Exception):
    def __init__(self, replay: idempotency.Replay) -> None:
        self.replay = replay


# Subclasses read `self.project` and never look a project up any other way. (A comment, not a
# docstring: drf-spectacular would publish an inherited docstring as every operation's description.)
class ProjectApiView(APIView):
    max_body_bytes: int | None = None
    project: Project

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        request_id_of(request)
        self._rate_limit = None
        self._idempotency_record = None
        self._cause_token = None
        self._check_body_size(request)
        super().initial(request, *args, **kwargs)
        self.project = request.user.project
        self._rate_limit = ratelimit.count_request(self.project)
        if self._rate_limit is not None and self._rate_limit.is_exceeded:
            raise ApiError(
                status_code=429,
                key="too_many_requests",
                message="API limit reached",
                details=f"Limit of {self._rate_limit.limit} requests per minute reached.",
                headers=self._rate_limit.headers(),
            )
        self._cause_token = use_cause(
            Cause.from_request(request_id=request.request_id, channel="API", api_key=request.auth)
        )
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST" and key is not None:
            outcome = idempotency.claim(
                project=self.project,
                key=key,
                request_fingerprint=idempotency.fingerprint(
                    request.method, request.path, request._request.body
                ),
            )
            if isinstance(outcome, idempotency.Replay):
                raise _ReplayResponse(outcome)
            self._idempotency_record = outcome

    def _check_body_size(self, request: Request) -> None:
        limit = self.max_body_bytes or settings.API_MAX_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise ApiError(
                status_code=413,
                key="request_too_large",
                message="Request too large",
                details=f"The request body is {length} bytes; the limit is {limit}.",
            )

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _ReplayResponse):
            response = Response(exc.replay.data, status=exc.replay.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        record = getattr(self, "_idempotency_record", None)
        if record is not None:
            idempotency.record_response(record, status_code=response.status_code, data=response.data)
            self._idempotency_record = None
        if getattr(self, "_rate_limit", None) is not None:
            for name, value in self._rate_limit.headers().items():
                response[name] = value
        response["X-Request-Id"] = request_id_of(request)
        token = getattr(self, "_cause_token", None)
        if token is not None:
            token.var.reset(token)
            self._cause_token = None
        return response
