"""`/v1/orders`: create (an upsert by id or source_id), get, update and list."""

from __future__ import annotations

from django.db.models import Case, F, Q, When
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from customers.api.serializers import CustomerCreateInput
from customers.models import Order
from customers.orders import OrderNotFound, order_update, order_upsert
from customers.representation import order_object
from customers.services import CustomerNotFound
from tenancy.api.errors import invalid_query_params, not_found
from tenancy.api.fields import (
    MetadataField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictNumberField,
    StrictSerializer,
)
from tenancy.api.paging import list_envelope, page_of
from tenancy.api.views import ProjectApiView

MAX_ITEMS = 500
# The orderings the SDK's ParameterOrderListOrders offers; never-updated orders sort last by updated_at.
ORDER_ORDERINGS = {
    "created_at": (F("created_at").asc(), F("id").asc()),
    "-created_at": (F("created_at").desc(), F("id").desc()),
    "updated_at": (F("updated_at").asc(nulls_last=True), F("id").asc()),
    "-updated_at": (F("updated_at").desc(nulls_last=True), F("id").desc()),
}


class OrderItemProductInput(StrictSerializer):
    id = StrictCharField(required=False, allow_null=True)
    source_id = StrictCharField(required=False, allow_null=True)
    override = StrictBooleanField(required=False, allow_null=True)
    name = StrictCharField(required=False, allow_null=True)
    metadata = MetadataField()
    price = StrictNumberField(required=False, allow_null=True)


class OrderItemSkuInput(StrictSerializer):
    id = StrictCharField(required=False, allow_null=True)
    source_id = StrictCharField(required=False, allow_null=True)
    override = StrictBooleanField(required=False, allow_null=True)
    sku = StrictCharField(required=False, allow_null=True)
    price = StrictNumberField(required=False, allow_null=True)
    metadata = MetadataField()


class OrderItemInput(StrictSerializer):
    sku_id = StrictCharField(required=False, allow_null=True)
    product_id = StrictCharField(required=False, allow_null=True)
    related_object = StrictChoiceField(choices=["product", "sku"], required=False, allow_null=True)
    source_id = StrictCharField(required=False, allow_null=True)
    quantity = StrictIntegerField(required=False, allow_null=True, min_value=0)
    discount_quantity = StrictIntegerField(required=False, allow_null=True, min_value=0)
    initial_quantity = StrictIntegerField(required=False, allow_null=True, min_value=0)
    amount = StrictIntegerField(required=False, allow_null=True, min_value=0)
    discount_amount = StrictIntegerField(required=False, allow_null=True, min_value=0)
    initial_amount = StrictIntegerField(required=False, allow_null=True, min_value=0)
    price = StrictIntegerField(required=False, allow_null=True, min_value=0)
    product = OrderItemProductInput(required=False, allow_null=True)
    sku = OrderItemSkuInput(required=False, allow_null=True)
    metadata = MetadataField()


class OrderUpdateInput(StrictSerializer):
    # The SDK's update body carries `source_id` too; the path names the order, so it is not changed.
    source_id = StrictCharField(max_length=255, required=False, allow_null=True)
    status = StrictChoiceField(choices=Order.Status.values, required=False)
    amount = StrictIntegerField(required=False, allow_null=True, min_value=0)
    initial_amount = StrictIntegerField(required=False, allow_null=True, min_value=0)
    discount_amount = StrictIntegerField(required=False, allow_null=True, min_value=0)
    items = OrderItemInput(many=True, required=False, max_length=MAX_ITEMS)
    metadata = MetadataField()
    created_at = serializers.DateTimeField(required=False)
    customer = CustomerCreateInput(required=False)
    referrer = CustomerCreateInput(required=False)
    referrer_id = StrictCharField(required=False, allow_null=True)

    def validate(self, attrs):
        if "items" in attrs:
            # Keep only what the caller sent, so that stored items round-trip as given.
            attrs["items"] = [
                {key: value for key, value in item.items() if value is not None} for item in attrs["items"]
            ]
        return attrs


class OrderCreateInput(OrderUpdateInput):
    id = StrictCharField(required=False, allow_null=True)


def _access_order(view: ProjectApiView, identifier: str) -> Order:
    orders = Order.objects.for_project(view.project).select_related("customer", "referrer")
    # One query; an id match wins over a source_id that happens to equal another order's id.
    order = (
        orders.filter(Q(public_id=identifier) | Q(source_id=identifier))
        .order_by(Case(When(public_id=identifier, then=0), default=1))
        .first()
    )
    if order is None:
        raise not_found("order", identifier)
    return order


def _translate_missing(error: Exception):
    if isinstance(error, OrderNotFound):
        return not_found("order", error.identifier)
    return not_found("customer", error.identifier)


class OrderCollectionApi(ProjectApiView):
    @extend_schema(operation_id="create_order", request=OrderCreateInput, responses={201: dict})
    def post(self, request: Request) -> Response:
        serializer = OrderCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            order, created = order_upsert(project=self.project, fields=serializer.validated_data)
        except (OrderNotFound, CustomerNotFound) as missing:
            raise _translate_missing(missing) from None
        return Response(
            order_object(order), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        operation_id="list_orders",
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("page", int),
            OpenApiParameter("order", str, enum=list(ORDER_ORDERINGS)),
        ],
        responses=dict,
    )
    def get(self, request: Request) -> Response:
        order = request.query_params.get("order") or "-created_at"
        if order not in ORDER_ORDERINGS:
            raise invalid_query_params(f"Query parameter order must be one of {', '.join(ORDER_ORDERINGS)}.")
        orders = (
            Order.objects.for_project(self.project)
            .select_related("customer", "referrer")
            .order_by(*ORDER_ORDERINGS[order])
        )
        rows, total, _ = page_of(request, orders)
        return Response(list_envelope("orders", [order_object(o) for o in rows], total))


class OrderItemApi(ProjectApiView):
    @extend_schema(operation_id="get_order", responses=dict)
    def get(self, request: Request, identifier: str) -> Response:
        return Response(order_object(_access_order(self, identifier)))

    @extend_schema(operation_id="update_order", request=OrderUpdateInput, responses=dict)
    def put(self, request: Request, identifier: str) -> Response:
        order = _access_order(self, identifier)
        serializer = OrderUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            order = order_update(project=self.project, order=order, fields=serializer.validated_data)
        except CustomerNotFound as missing:
            raise _translate_missing(missing) from None
        return Response(order_object(order))
