"""`POST /v1/events`: track a custom event for a customer (upserted on the way)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from customers.api.serializers import CustomerCreateInput
from customers.events import custom_event_track
from customers.representation import custom_event_object
from customers.services import CustomerNotFound
from tenancy.api.errors import not_found
from tenancy.api.fields import MetadataField, StrictCharField, StrictSerializer
from tenancy.api.views import ProjectApiView


class ReferralInput(StrictSerializer):
    code = StrictCharField(max_length=255, required=False, allow_null=True)
    referrer_id = StrictCharField(max_length=255, required=False, allow_null=True)


class LoyaltyInput(StrictSerializer):
    code = StrictCharField(max_length=255)


class CustomEventInput(StrictSerializer):
    event = StrictCharField(min_length=1, max_length=300)
    customer = CustomerCreateInput()
    metadata = MetadataField()
    referral = ReferralInput(required=False, allow_null=True)
    loyalty = LoyaltyInput(required=False, allow_null=True)


class CustomEventTrackApi(ProjectApiView):
    @extend_schema(operation_id="track_custom_event", request=CustomEventInput, responses={200: dict})
    def post(self, request: Request) -> Response:
        serializer = CustomEventInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            event = custom_event_track(
                project=self.project,
                name=data["event"],
                customer_fields=data["customer"],
                metadata=data.get("metadata"),
                referral=data.get("referral"),
                loyalty=data.get("loyalty"),
            )
        except CustomerNotFound as missing:
            raise not_found("customer", missing.identifier) from None
        return Response(custom_event_object(event), status=status.HTTP_200_OK)
