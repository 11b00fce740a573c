"""`/v1/distributions`: our own API in the project's conventions (list envelope, Voucherify errors)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from distributions import catalogue, services
from distributions.api.serializers import (
    DistributionInput,
    PauseInput,
    ResumeInput,
    distribution_object,
)
from distributions.models import (
    Distribution,
    DistributionStatus,
)
from distributions.preflight import distribution_preflight
from distributions.selectors import distribution_get
from distributions.services import DistributionRefused
from tenancy.api.errors import ApiError, invalid_query_params, not_found
from tenancy.api.fields import validated
from tenancy.api.paging import list_envelope, page_of
from tenancy.api.views import ProjectApiView
from tenancy.models import Project

MESSAGES = {
    "invalid_payload": "Invalid payload",
    "distribution_incomplete": "Distribution incomplete",
    "invalid_distribution_state": "Invalid distribution state",
}


def _refused(error: DistributionRefused) -> ApiError:
    return ApiError(status_code=400, key=error.key, message=MESSAGES[error.key], details=error.details)


def _with_channels(distributions):
    return distributions.select_related("created_by").prefetch_related("channels")


def _access_distribution(project: Project, public_id: str) -> Distribution:
    distribution = distribution_get(project=project, public_id=public_id)
    if distribution is None:
        raise not_found("distribution", public_id)
    return distribution


def _reloaded(project: Project, distribution: Distribution) -> Distribution:
    return _with_channels(Distribution.objects.for_project(project)).get(pk=distribution.pk)


def _datetime_param(name: str, raw: str) -> datetime:
    try:
        value = parse_datetime(raw.replace(" ", "+"))
    except ValueError:
        value = None
    if value is None:
        raise invalid_query_params(f"Query parameter {name} must be an ISO 8601 datetime.")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _created_range(request: Request, queryset):
    for bound, lookup in (("before", "lt"), ("after", "gt")):
        raw = request.query_params.get(f"created_at[{bound}]")
        if raw:
            queryset = queryset.filter(
                **{f"created_at__{lookup}": _datetime_param(f"created_at[{bound}]", raw)}
            )
    return queryset


class DistributionCatalogueApi(ProjectApiView):
    @extend_schema(
        operation_id="get_distribution_catalogue",
        parameters=[
            OpenApiParameter("category", str, enum=[str(c) for c in catalogue.Category]),
            OpenApiParameter("q", str, description="Words that every listed trigger contains"),
        ],
        responses=dict,
    )
    def get(self, request: Request) -> Response:
        category = request.query_params.get("category") or None
        if category is not None and category not in catalogue.Category.__members__.values():
            raise invalid_query_params(
                f"Query parameter category must be one of {', '.join(map(str, catalogue.Category))}."
            )
        triggers = catalogue.search_triggers(category=category, text=request.query_params.get("q"))
        return Response(catalogue.catalogue_document(triggers))


class DistributionCollectionApi(ProjectApiView):
    @extend_schema(operation_id="create_distribution", request=DistributionInput, responses={201: dict})
    def post(self, request: Request) -> Response:
        fields = validated(DistributionInput, request.data)
        try:
            distribution = services.distribution_create(project=self.project, fields=fields)
        except DistributionRefused as error:
            raise _refused(error) from None
        return Response(
            distribution_object(_reloaded(self.project, distribution)), status=status.HTTP_201_CREATED
        )

    @extend_schema(
        operation_id="list_distributions",
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("page", int),
            OpenApiParameter("name", str),
            OpenApiParameter("status", str, description="One status or several, comma-separated"),
            OpenApiParameter("trigger_category", str, enum=[str(c) for c in catalogue.Category]),
            OpenApiParameter("created_at[before]", str),
            OpenApiParameter("created_at[after]", str),
        ],
        responses=dict,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        distributions = Distribution.objects.for_project(self.project)
        if params.get("status"):
            statuses = params["status"].split(",")
            unknown = [s for s in statuses if s not in DistributionStatus.values]
            if unknown:
                raise invalid_query_params(
                    f"Query parameter status must be among {', '.join(DistributionStatus.values)}; "
                    f"got {', '.join(unknown)}."
                )
            distributions = distributions.filter(status__in=statuses)
        else:
            distributions = distributions.visible()
        if params.get("name"):
            distributions = distributions.filter(name__icontains=params["name"])
        category = params.get("trigger_category")
        if category:
            if category not in catalogue.Category.__members__.values():
                raise invalid_query_params(
                    "Query parameter trigger_category must be one of "
                    f"{', '.join(map(str, catalogue.Category))}."
                )
            keys = [t.key for t in catalogue.search_triggers(category=category)]
            distributions = distributions.filter(trigger_key__in=keys)
        distributions = _created_range(request, distributions).order_by("-created_at", "-pk")
        rows, total, has_more = page_of(request, _with_channels(distributions))
        return Response(
            list_envelope("distributions", [distribution_object(d) for d in rows], total, has_more=has_more)
        )


class DistributionItemApi(ProjectApiView):
    @extend_schema(operation_id="get_distribution", responses=dict)
    def get(self, request: Request, public_id: str) -> Response:
        distribution = _access_distribution(self.project, public_id)
        return Response(distribution_object(_reloaded(self.project, distribution)))

    @extend_schema(operation_id="update_distribution", request=DistributionInput, responses=dict)
    def put(self, request: Request, public_id: str) -> Response:
        distribution = _access_distribution(self.project, public_id)
        fields = validated(DistributionInput, request.data)
        try:
            distribution = services.distribution_update(
                project=self.project, distribution=distribution, fields=fields
            )
        except DistributionRefused as error:
            raise _refused(error) from None
        return Response(distribution_object(_reloaded(self.project, distribution)))

    @extend_schema(operation_id="patch_distribution", request=DistributionInput, responses=dict)
    def patch(self, request: Request, public_id: str) -> Response:
        return self.put(request, public_id)

    @extend_schema(operation_id="delete_distribution", responses={204: None})
    def delete(self, request: Request, public_id: str) -> Response:
        distribution = _access_distribution(self.project, public_id)
        services.distribution_delete(project=self.project, distribution=distribution)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _TransitionApi(ProjectApiView):
    transition: Any = None

    def post(self, request: Request, public_id: str) -> Response:
        distribution = _access_distribution(self.project, public_id)
        try:
            distribution = type(self).transition(
                project=self.project, distribution=distribution, **self.arguments(request)
            )
        except DistributionRefused as error:
            raise _refused(error) from None
        return Response(distribution_object(_reloaded(self.project, distribution)))

    def arguments(self, request: Request) -> dict[str, Any]:
        if request.data:
            raise ApiError(
                status_code=400,
                key="invalid_payload",
                message="Invalid payload",
                details="This action takes no request body.",
            )
        return {}


class DistributionSendApi(_TransitionApi):
    transition = services.distribution_send

    @extend_schema(operation_id="send_distribution", request=None, responses=dict)
    def post(self, request: Request, public_id: str) -> Response:
        return super().post(request, public_id)


class DistributionCancelApi(_TransitionApi):
    transition = services.distribution_cancel

    @extend_schema(operation_id="cancel_distribution", request=None, responses=dict)
    def post(self, request: Request, public_id: str) -> Response:
        return super().post(request, public_id)


class DistributionPauseApi(_TransitionApi):
    transition = services.distribution_pause

    def arguments(self, request: Request) -> dict[str, Any]:
        return {"reason": validated(PauseInput, request.data or {}).get("reason", "")}

    @extend_schema(operation_id="pause_distribution", request=PauseInput, responses=dict)
    def post(self, request: Request, public_id: str) -> Response:
        return super().post(request, public_id)


class DistributionResumeApi(_TransitionApi):
    transition = services.distribution_resume

    def arguments(self, request: Request) -> dict[str, Any]:
        """`{"replay_failed": true}` also sends again what failed for good while it was live."""
        return {"replay_failed": validated(ResumeInput, request.data or {}).get("replay_failed", False)}

    @extend_schema(operation_id="resume_distribution", request=ResumeInput, responses=dict)
    def post(self, request: Request, public_id: str) -> Response:
        return super().post(request, public_id)


class DistributionPreflightApi(ProjectApiView):
    @extend_schema(operation_id="preflight_distribution", responses=dict)
    def get(self, request: Request, public_id: str) -> Response:
        """What sending would do now, without sending: audience size, skips, code pool, problems."""
        distribution = _access_distribution(self.project, public_id)
        preflight = distribution_preflight(project=self.project, distribution=distribution)
        return Response(
            {"object": "distribution_preflight", "id": distribution.public_id, **preflight.as_dict()}
        )
