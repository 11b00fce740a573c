"""`/v1/segments` (create, get, delete, list; ours: edit, static members) and a customer's segments."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from customers.models import Customer
from customers.selectors import customer_get
from customers.services import CustomerNotFound
from segments import services
from segments.filters import FilterError
from segments.models import Segment
from segments.representation import segment_object, simple_segment_object
from segments.selectors import segment_get, segments_listed, segments_of_customer
from tenancy.api.errors import ApiError, invalid_payload, not_found
from tenancy.api.fields import (
    StrictCharField,
    StrictChoiceField,
    StrictDictField,
    StrictIntegerField,
    StrictSerializer,
)
from tenancy.api.paging import list_envelope, page_of
from tenancy.api.views import ProjectApiView

MAX_COOLDOWN_SECONDS = 30 * 24 * 3600


class CustomerIdsField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(
            child=StrictCharField(min_length=1, max_length=255),
            max_length=services.MAX_STATIC_CUSTOMERS_PER_REQUEST,
            **kwargs,
        )

    def to_internal_value(self, data):
        if not isinstance(data, list):
            raise serializers.ValidationError("must be an array of customer ids")
        return super().to_internal_value(data)


class SegmentCreateInput(StrictSerializer):
    name = StrictCharField(min_length=1, max_length=200)
    type = StrictChoiceField(choices=[choice.value for choice in Segment.Type])
    customers = CustomerIdsField(required=False)
    filter = StrictDictField(required=False, allow_null=True)
    # Ours, beyond Voucherify's request.
    reentry_cooldown_seconds = StrictIntegerField(required=False, min_value=0, max_value=MAX_COOLDOWN_SECONDS)

    def validate(self, data):
        if data["type"] == Segment.Type.STATIC:
            if data.get("filter") is not None:
                raise serializers.ValidationError(
                    {"filter": ["is only for auto-update and passive segments"]}
                )
        else:
            if data.get("filter") is None:
                raise serializers.ValidationError({"filter": [f"is required for {data['type']} segments"]})
            if data.get("customers"):
                raise serializers.ValidationError({"customers": ["are only for static segments"]})
        return data


class SegmentUpdateInput(StrictSerializer):
    filter = StrictDictField(required=False)
    name = StrictCharField(required=False, min_length=1, max_length=200)
    reentry_cooldown_seconds = StrictIntegerField(required=False, min_value=0, max_value=MAX_COOLDOWN_SECONDS)


class SegmentCustomersInput(StrictSerializer):
    customers = CustomerIdsField(min_length=1)


def filter_error(error: FilterError) -> ApiError:
    """A compile error as Voucherify's invalid_payload, naming the field and operator."""
    path = ".filter"
    if error.field:
        path += f".{error.field}"
        if error.operator:
            path += f".conditions.{error.operator}"
    return invalid_payload(f"Property {path}: {error.reason}")


def _access_segment(view: ProjectApiView, identifier: str) -> Segment:
    segment = segment_get(project=view.project, identifier=identifier)
    if segment is None:
        raise not_found("segment", identifier)
    return segment


class SegmentCollectionApi(ProjectApiView):
    @extend_schema(operation_id="create_segment", request=SegmentCreateInput, responses={200: dict})
    def post(self, request: Request) -> Response:
        serializer = SegmentCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            segment = services.segment_create(
                project=self.project,
                name=data["name"],
                type=data["type"],
                filter=data.get("filter"),
                customers=data.get("customers") or [],
                reentry_cooldown_seconds=data.get("reentry_cooldown_seconds", 0),
            )
        except FilterError as error:
            raise filter_error(error) from None
        except CustomerNotFound as missing:
            raise not_found("customer", missing.identifier) from None
        return Response(segment_object(segment), status=status.HTTP_200_OK)

    @extend_schema(
        operation_id="list_segments",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("page", int)],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        rows, total, _ = page_of(request, segments_listed(project=self.project))
        return Response(list_envelope("data", [segment_object(s) for s in rows], total))


class SegmentItemApi(ProjectApiView):
    @extend_schema(operation_id="get_segment", responses={200: dict})
    def get(self, request: Request, segment_id: str) -> Response:
        return Response(segment_object(_access_segment(self, segment_id)))

    @extend_schema(operation_id="update_segment", request=SegmentUpdateInput, responses={200: dict})
    def put(self, request: Request, segment_id: str) -> Response:
        segment = _access_segment(self, segment_id)
        serializer = SegmentUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "filter" in data and not segment.has_filter:
            raise invalid_payload("Property .filter: a static segment has no filter")
        try:
            segment = services.segment_update(project=self.project, segment=segment, **data)
        except FilterError as error:
            raise filter_error(error) from None
        return Response(segment_object(segment))

    @extend_schema(operation_id="delete_segment", responses={204: None})
    def delete(self, request: Request, segment_id: str) -> Response:
        try:
            services.segment_delete(project=self.project, segment=_access_segment(self, segment_id))
        except services.SegmentInUse as error:
            raise ApiError(
                status_code=400, key="segment_in_use", message="Segment in use", details=str(error)
            ) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


def _static_segment(view: ProjectApiView, identifier: str) -> Segment:
    segment = _access_segment(view, identifier)
    if segment.type != Segment.Type.STATIC:
        raise invalid_payload(f"Segment {identifier} is {segment.type}: only static segments take customers")
    return segment


class SegmentCustomersApi(ProjectApiView):
    @extend_schema(operation_id="add_segment_customers", request=SegmentCustomersInput, responses={200: dict})
    def post(self, request: Request, segment_id: str) -> Response:
        segment = _static_segment(self, segment_id)
        serializer = SegmentCustomersInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.segment_add_customers(
                project=self.project, segment=segment, customers=serializer.validated_data["customers"]
            )
        except CustomerNotFound as missing:
            raise not_found("customer", missing.identifier) from None
        segment.refresh_from_db()
        return Response(segment_object(segment))


class SegmentCustomerItemApi(ProjectApiView):
    @extend_schema(operation_id="remove_segment_customer", responses={204: None})
    def delete(self, request: Request, segment_id: str, identifier: str) -> Response:
        segment = _static_segment(self, segment_id)
        try:
            services.segment_remove_customers(project=self.project, segment=segment, customers=[identifier])
        except CustomerNotFound as missing:
            raise not_found("customer", missing.identifier) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerSegmentsApi(ProjectApiView):
    @extend_schema(operation_id="list_customer_segments", responses={200: dict})
    def get(self, request: Request, identifier: str) -> Response:
        customer: Customer | None = customer_get(project=self.project, identifier=identifier)
        if customer is None:
            raise not_found("customer", identifier)
        segments = list(segments_of_customer(project=self.project, customer=customer))
        return Response(list_envelope("data", [simple_segment_object(s) for s in segments], len(segments)))
