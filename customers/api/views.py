from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db.models import F
from django.db.models.functions import Lower
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from customers import bulk
from customers.api.serializers import (
    BulkImportOutput,
    CustomerCreateInput,
    CustomerListOutput,
    CustomerOutput,
    CustomerUpdateInput,
)
from customers.models import Customer
from customers.representation import customer_object, customer_objects
from customers.selectors import customer_get
from customers.services import CustomerNotFound, customer_delete, customer_update, customer_upsert
from tenancy.api.errors import invalid_payload, invalid_query_params, not_found
from tenancy.api.paging import list_envelope, page_of
from tenancy.api.views import ProjectApiView
from tenancy.models import Project

# Never-updated customers (updated_at null) sort after the updated ones in both directions.
CUSTOMER_ORDERINGS = {
    "created_at": (F("created_at").asc(), F("id").asc()),
    "-created_at": (F("created_at").desc(), F("id").desc()),
    "updated_at": (F("updated_at").asc(nulls_last=True), F("id").asc()),
    "-updated_at": (F("updated_at").desc(nulls_last=True), F("id").desc()),
    "source_id": (F("source_id").asc(), F("id").asc()),
    "-source_id": (F("source_id").desc(), F("id").desc()),
}


def _access_customer(view: ProjectApiView, identifier: str) -> Customer:
    customer = customer_get(project=view.project, identifier=identifier)
    if customer is None:
        raise not_found("customer", identifier)
    return customer


def _customer_body(project: Project, customer: Customer) -> dict[str, Any]:
    (body,) = customer_objects(project=project, customers=[customer])
    return body


class CustomerCollectionApi(ProjectApiView):
    @extend_schema(
        operation_id="create_customer", request=CustomerCreateInput, responses={201: CustomerOutput}
    )
    def post(self, request: Request) -> Response:
        serializer = CustomerCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            customer, created = customer_upsert(project=self.project, fields=serializer.validated_data)
        except CustomerNotFound as missing:
            raise not_found("customer", missing.identifier) from None
        # A customer just created has no redemptions or referrals to summarise.
        body = customer_object(customer) if created else _customer_body(self.project, customer)
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        operation_id="list_customers",
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("page", int),
            OpenApiParameter("email", str),
            OpenApiParameter("city", str),
            OpenApiParameter("name", str),
            OpenApiParameter("order", str, enum=list(CUSTOMER_ORDERINGS)),
            OpenApiParameter("starting_after", str),
            OpenApiParameter("created_at[before]", str),
            OpenApiParameter("created_at[after]", str),
            OpenApiParameter("updated_at[before]", str),
            OpenApiParameter("updated_at[after]", str),
        ],
        responses=CustomerListOutput,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        customers = Customer.objects.for_project(self.project)
        if params.get("email"):
            # Compared through lower(), not __iexact's upper(), so that the lower(email) index serves it.
            email = params["email"].lower()
            customers = customers.alias(email_lower=Lower("email")).filter(email_lower=email)
        if params.get("city"):
            city = params["city"].lower()
            customers = customers.alias(city_lower=Lower("address_city")).filter(city_lower=city)
        if params.get("name"):
            customers = customers.filter(name__icontains=params["name"])
        for field in ("created_at", "updated_at"):
            for bound, lookup in (("before", "lt"), ("after", "gt")):
                raw = params.get(f"{field}[{bound}]")
                if raw:
                    customers = customers.filter(
                        **{f"{field}__{lookup}": _datetime_param(f"{field}[{bound}]", raw)}
                    )
        if params.get("starting_after"):
            customers = customers.filter(
                created_at__gt=_datetime_param("starting_after", params["starting_after"])
            )
        order = params.get("order") or "-created_at"
        if order not in CUSTOMER_ORDERINGS:
            raise invalid_query_params(
                f"Query parameter order must be one of {', '.join(CUSTOMER_ORDERINGS)}."
            )
        customers = customers.order_by(*CUSTOMER_ORDERINGS[order])
        rows, total, has_more = page_of(request, customers, max_page=99)
        return Response(
            list_envelope(
                "customers", customer_objects(project=self.project, customers=rows), total, has_more=has_more
            )
        )


def _datetime_param(name: str, raw: str) -> datetime:
    # A `+` offset left unencoded in a query string arrives as a space.
    try:
        value = parse_datetime(raw.replace(" ", "+"))
    except ValueError:  # well-formed but impossible, such as month 13
        value = None
    if value is None:
        raise invalid_query_params(f"Query parameter {name} must be an ISO 8601 datetime.")
    # The SDK formats a naive datetime without an offset; Voucherify's times are UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class CustomerItemApi(ProjectApiView):
    @extend_schema(operation_id="get_customer", responses=CustomerOutput)
    def get(self, request: Request, identifier: str) -> Response:
        return Response(_customer_body(self.project, _access_customer(self, identifier)))

    @extend_schema(operation_id="update_customer", request=CustomerUpdateInput, responses=CustomerOutput)
    def put(self, request: Request, identifier: str) -> Response:
        customer = _access_customer(self, identifier)
        serializer = CustomerUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = customer_update(project=self.project, customer=customer, fields=serializer.validated_data)
        return Response(_customer_body(self.project, customer))

    @extend_schema(operation_id="delete_customer", responses={204: None})
    def delete(self, request: Request, identifier: str) -> Response:
        customer_delete(project=self.project, customer=_access_customer(self, identifier))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerBulkImportApi(ProjectApiView):
    max_body_bytes = settings.API_BULK_MAX_BODY_BYTES

    @extend_schema(
        operation_id="import_customers_bulk",
        request=CustomerCreateInput(many=True),
        responses={202: BulkImportOutput},
    )
    def post(self, request: Request) -> Response:
        # Read the raw body before request.data consumes the stream: it is stored as it came.
        raw_body = request._request.body
        rows = request.data
        errors = bulk.row_errors(rows)
        if errors:
            raise invalid_payload("; ".join(errors))
        # The charset the JSON parser decoded the body with.
        text = raw_body.decode(request._request.encoding or settings.DEFAULT_CHARSET)
        bulk_import = bulk.bulk_import_create(project=self.project, body=text, total=len(rows))
        return Response({"async_action_id": bulk_import.public_id}, status=status.HTTP_202_ACCEPTED)
