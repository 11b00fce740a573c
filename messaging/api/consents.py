"""`/v1/customers/{id}/consents` (ours; Voucherify's customer object has no per-channel consents):
read a customer's choice per channel, and set some of them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from customers.models import Customer
from customers.selectors import customer_get
from messaging.consent import CONSENT_CHANNELS, customer_consents, customer_consents_set
from messaging.models import CustomerConsent
from tenancy.api.errors import invalid_payload, not_found
from tenancy.api.fields import StrictChoiceField, StrictSerializer
from tenancy.api.views import ProjectApiView
from tenancy.formats import iso


class ConsentsField(serializers.DictField):
    def __init__(self, **kwargs):
        super().__init__(child=StrictChoiceField(choices=CustomerConsent.State.values), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("must be an object of channel → 'subscribed' or 'unsubscribed'")
        unknown = sorted(set(data) - set(CONSENT_CHANNELS))
        if unknown:
            raise serializers.ValidationError(
                f"unknown channel(s) {', '.join(unknown)}; known: {', '.join(CONSENT_CHANNELS)}"
            )
        return super().to_internal_value(data)


class ConsentsUpdateInput(StrictSerializer):
    consents = ConsentsField()


def consents_object(project, customer: Customer) -> dict:
    return {
        "object": "customer_consents",
        "customer_id": customer.public_id,
        "consents": {
            view.channel: {
                "state": view.state,
                "source": view.source or None,
                "changed_at": iso(view.changed_at) if view.changed_at else None,
            }
            for view in customer_consents(project=project, customer=customer)
        },
    }


class CustomerConsentsApi(ProjectApiView):
    def _customer(self, identifier: str) -> Customer:
        customer = customer_get(project=self.project, identifier=identifier)
        if customer is None:
            raise not_found("customer", identifier)
        return customer

    @extend_schema(operation_id="get_customer_consents", responses={200: dict})
    def get(self, request: Request, identifier: str) -> Response:
        return Response(consents_object(self.project, self._customer(identifier)))

    @extend_schema(
        operation_id="update_customer_consents", request=ConsentsUpdateInput, responses={200: dict}
    )
    def put(self, request: Request, identifier: str) -> Response:
        customer = self._customer(identifier)
        serializer = ConsentsUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            customer_consents_set(
                project=self.project,
                customer=customer,
                changes=serializer.validated_data["consents"],
                source=CustomerConsent.Source.API,
            )
        except ValidationError as error:
            raise invalid_payload(str(error)) from None
        return Response(consents_object(self.project, customer))
