"""`/v1/vouchers/{code}` writes: update, delete, enable, disable, and a gift card's balance."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.api.serializers import DiscountInput, RedemptionInput
from campaigns.gift import BalanceRefused, gift_balance_update
from campaigns.models import Voucher, VoucherType
from campaigns.representation import voucher_object
from campaigns.selectors import holders_of, voucher_get
from campaigns.voucher_changes import VoucherChangeRefused, voucher_delete, voucher_set_active, voucher_update
from tenancy.api.errors import ApiError, invalid_query_params, not_found
from tenancy.api.fields import (
    MetadataField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictSerializer,
)
from tenancy.api.views import ProjectApiView
from tenancy.models import Project

MESSAGES = {
    "invalid_add_balance_params": "Invalid add balance params",
    "gift_amount_exceeded": "gift amount exceeded",
    "invalid_voucher": "Invalid voucher",
}


class VoucherUpdateInput(StrictSerializer):
    category = StrictCharField(required=False, allow_null=True, max_length=255)
    category_id = StrictCharField(required=False, allow_null=True, max_length=255)
    start_date = serializers.DateTimeField(required=False, allow_null=True)
    expiration_date = serializers.DateTimeField(required=False, allow_null=True)
    active = StrictBooleanField(required=False, allow_null=True)
    additional_info = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=1000)
    metadata = MetadataField()
    # The SDK's update body always carries a type (DISCOUNT_VOUCHER by default, even for a gift
    # card): accepted, and ignored, as a code's type never changes.
    type = StrictChoiceField(choices=VoucherType.values, required=False, allow_null=True)
    discount = DiscountInput(required=False, allow_null=True)
    redemption = RedemptionInput(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.pop("category_id", None)  # categories are not modelled yet
        attrs.pop("type", None)
        return attrs


class BalanceInput(StrictSerializer):
    amount = StrictIntegerField()
    source_id = StrictCharField(required=False, allow_null=True, max_length=255)
    reason = StrictCharField(required=False, allow_null=True, max_length=1000)


def _access_voucher(project: Project, code: str) -> Voucher:
    voucher = voucher_get(project=project, code=code)
    if voucher is None:
        raise not_found("voucher", code)
    return voucher


def _voucher_response(project: Project, voucher: Voucher) -> dict[str, Any]:
    holder = holders_of(project=project, voucher_ids=[voucher.pk]).get(voucher.pk)
    return voucher_object(voucher, holder_public_id=holder)


def _refused(error: VoucherChangeRefused | BalanceRefused) -> ApiError:
    return ApiError(
        status_code=error.status_code,
        key=error.key,
        message=MESSAGES.get(error.key, error.key.replace("_", " ")),
        details=error.details,
    )


# `VoucherItemApi` (campaigns/api/views.py) serves GET and POST on /v1/vouchers/{code}; these two
# are its PUT and DELETE.
def voucher_put(view: ProjectApiView, request: Request, code: str) -> Response:
    voucher = _access_voucher(view.project, code)
    serializer = VoucherUpdateInput(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        voucher = voucher_update(project=view.project, voucher=voucher, fields=serializer.validated_data)
    except VoucherChangeRefused as error:
        raise _refused(error) from None
    return Response(_voucher_response(view.project, voucher))


def voucher_remove(view: ProjectApiView, request: Request, code: str) -> Response:
    force = request.query_params.get("force")
    if force not in (None, "", "true", "false"):
        raise invalid_query_params("Query parameter force must be true or false.")
    voucher_delete(project=view.project, voucher=_access_voucher(view.project, code))
    return Response(status=status.HTTP_204_NO_CONTENT)


class VoucherEnableApi(ProjectApiView):
    active = True

    @extend_schema(operation_id="enable_voucher", request=None, responses=dict)
    def post(self, request: Request, code: str) -> Response:
        voucher = _access_voucher(self.project, code)
        voucher = voucher_set_active(project=self.project, voucher=voucher, active=self.active)
        return Response(_voucher_response(self.project, voucher))


class VoucherDisableApi(VoucherEnableApi):
    active = False

    @extend_schema(operation_id="disable_voucher", request=None, responses=dict)
    def post(self, request: Request, code: str) -> Response:
        return super().post(request, code)


class VoucherBalanceApi(ProjectApiView):
    @extend_schema(operation_id="update_voucher_balance", request=BalanceInput, responses=dict)
    def post(self, request: Request, code: str) -> Response:
        voucher = _access_voucher(self.project, code)
        serializer = BalanceInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            change = gift_balance_update(
                project=self.project,
                voucher=voucher,
                amount=data["amount"],
                source_id=data.get("source_id"),
                reason=data.get("reason"),
            )
        except BalanceRefused as error:
            raise _refused(error) from None
        return Response(
            {
                "amount": change.amount,
                "total": change.total,
                "balance": change.balance,
                "type": "gift_voucher",
                "operation_type": "MANUAL",
                "object": "balance",
                "related_object": {"type": "voucher", "id": voucher.public_id},
            }
        )
