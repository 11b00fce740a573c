"""`/v1/redemptions`: redeem (the stacking body), get, list, roll back; a code's redemptions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import F
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.models import Redemption, Voucher
from campaigns.redemption_objects import LOADED, redemption_entry_list, redemption_object, redemption_objects
from campaigns.redemptions import (
    MAX_REDEEMABLES,
    Redeemable,
    RedemptionRefused,
    RollbackRefused,
    redemption_redeem,
    redemption_rollback,
)
from campaigns.selectors import campaign_get
from customers.api.orders import OrderCreateInput
from customers.api.serializers import CustomerCreateInput
from customers.selectors import customer_get
from tenancy.api.errors import ApiError, invalid_query_params, not_found
from tenancy.api.fields import (
    MetadataField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictSerializer,
)
from tenancy.api.paging import list_envelope, page_of
from tenancy.api.views import ProjectApiView
from tenancy.models import Project

# Voucherify's messages for its redemption failure keys.
MESSAGES = {
    "voucher_disabled": "voucher is disabled",
    "voucher_expired": "voucher expired",
    "voucher_not_active": "voucher not active",
    "voucher_not_active_now": "voucher not active now",
    "quantity_exceeded": "quantity exceeded",
    "gift_amount_exceeded": "gift amount exceeded",
    "referrer_not_permitted_to_redeem": "Referrer not permitted to redeem",
    "missing_customer": "Missing customer",
    "missing_amount": "Missing amount",
    "invalid_amount": "Invalid amount",
    "not_found": "Resource not found",
    "invalid_payload": "Invalid payload",
    "already_rolled_back": "Redemption was already rolled back",
    "invalid_redemption": "Invalid redemption",
    "invalid_redemption_parent": "Invalid redemption parent",
    "customer_rules_violated": "Customer does not match validation rules",
    "order_rules_violated": "Order does not match validation rules",
    "redemption_rules_violated": "Redemption does not match validation rules",
    "promotion_inactive": "Promotion is inactive",
    "promotion_not_active_now": "Promotion is not active now",
}
ORDERINGS = {
    "created_at": (F("created_at").asc(), F("id").asc()),
    "-created_at": (F("created_at").desc(), F("id").desc()),
    "id": (F("public_id").asc(),),
    "-id": (F("public_id").desc(),),
    "voucher_code": (F("voucher_code").asc(nulls_last=True), F("id").asc()),
    "-voucher_code": (F("voucher_code").desc(nulls_last=True), F("id").desc()),
    "tracking_id": (F("tracking_id").asc(nulls_last=True), F("id").asc()),
    "-tracking_id": (F("tracking_id").desc(nulls_last=True), F("id").desc()),
    "customer_id": (F("customer_id").asc(nulls_last=True), F("id").asc()),
    "-customer_id": (F("customer_id").desc(nulls_last=True), F("id").desc()),
}


class RedeemableGiftInput(StrictSerializer):
    credits = StrictIntegerField(required=False, allow_null=True)


class RedeemableRewardInput(StrictSerializer):
    id = StrictCharField(required=False, allow_null=True)
    points = StrictIntegerField(required=False, allow_null=True)


class RedeemableInput(StrictSerializer):
    object = StrictChoiceField(choices=["voucher", "promotion_tier", "promotion_stack"])
    id = StrictCharField(max_length=255)
    gift = RedeemableGiftInput(required=False, allow_null=True)
    reward = RedeemableRewardInput(required=False, allow_null=True)


class SessionInput(StrictSerializer):
    key = StrictCharField(required=False, allow_null=True, max_length=255)
    type = StrictChoiceField(choices=["LOCK"], required=False, allow_null=True)
    ttl = StrictIntegerField(required=False, allow_null=True, min_value=0)
    ttl_unit = StrictChoiceField(
        choices=["DAYS", "HOURS", "MICROSECONDS", "MILLISECONDS", "MINUTES", "NANOSECONDS", "SECONDS"],
        required=False,
        allow_null=True,
    )


class OptionsInput(StrictSerializer):
    expand = serializers.ListField(
        child=StrictChoiceField(choices=["order", "redemption", "redeemable", "category"]), required=False
    )
    language = StrictCharField(required=False, allow_null=True)


class RedeemInput(StrictSerializer):
    redeemables = RedeemableInput(many=True, min_length=1, max_length=MAX_REDEEMABLES)
    order = OrderCreateInput(required=False, allow_null=True)
    customer = CustomerCreateInput(required=False, allow_null=True)
    session = SessionInput(required=False, allow_null=True)
    tracking_id = StrictCharField(required=False, allow_null=True, max_length=255)
    metadata = MetadataField()
    options = OptionsInput(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        customer = attrs.get("customer")
        if customer is not None and not customer.get("id") and not customer.get("source_id"):
            raise serializers.ValidationError({"customer": ["needs an id or a source_id"]})
        return attrs


class RollbackInput(StrictSerializer):
    reason = StrictCharField(required=False, allow_null=True, max_length=1000)
    tracking_id = StrictCharField(required=False, allow_null=True, max_length=255)
    customer = CustomerCreateInput(required=False, allow_null=True)
    order = OrderCreateInput(required=False, allow_null=True)
    metadata = MetadataField()


def _redemption_error(refusal: RedemptionRefused) -> ApiError:
    failed = refusal.failed_redemption
    return ApiError(
        status_code=refusal.status_code,
        key=refusal.key,
        message=MESSAGES.get(refusal.key, refusal.key.replace("_", " ")),
        details=refusal.details,
        resource_id=failed.public_id if failed and refusal.status_code == 400 else refusal.resource_id,
        resource_type="redemption" if failed and refusal.status_code == 400 else refusal.resource_type,
        error_message=refusal.error_message,
    )


def _loaded(project: Project) -> Any:
    return Redemption.objects.for_project(project).select_related(*LOADED)


def _access_redemption(project: Project, identifier: str) -> Redemption:
    redemption = _loaded(project).filter(public_id=identifier).first()
    if redemption is None:
        raise not_found("redemption", identifier)
    return redemption


def _datetime_param(name: str, raw: str) -> datetime:
    try:
        value = parse_datetime(raw.replace(" ", "+"))
    except ValueError:
        value = None
    if value is None:
        try:
            value = datetime.fromisoformat(raw.replace(" ", "+"))
        except ValueError:
            raise invalid_query_params(f"Query parameter {name} must be an ISO 8601 datetime.") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class RedemptionCollectionApi(ProjectApiView):
    @extend_schema(operation_id="redeem_stacked_discounts", request=RedeemInput, responses={200: dict})
    def post(self, request: Request) -> Response:
        serializer = RedeemInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        redeemables = [
            Redeemable(
                object=item["object"], id=item["id"], gift_credits=(item.get("gift") or {}).get("credits")
            )
            for item in data["redeemables"]
        ]
        try:
            result = redemption_redeem(
                project=self.project,
                redeemables=redeemables,
                customer_fields=data.get("customer"),
                order_fields=data.get("order"),
                metadata=data.get("metadata"),
                tracking_id=data.get("tracking_id"),
                session_key=(data.get("session") or {}).get("key"),
            )
        except RedemptionRefused as refusal:
            raise _redemption_error(refusal) from None
        # Built from the rows the service wrote (with their code, customer and order attached), so the
        # response costs no query of its own.
        children = [
            redemption_object(
                row,
                holder_public_id=getattr(target, "holder_public_id", None),
                promotion_tier=getattr(target, "tier", None),
            )
            for row, target in zip(result.redemptions, result.targets, strict=True)
        ]
        body: dict[str, Any] = {
            "redemptions": children,
            "order": children[0]["order"],
            "inapplicable_redeemables": [],
            "skipped_redeemables": [],
        }
        if result.parent is not None:
            body["parent_redemption"] = redemption_object(result.parent, children=result.redemptions)
        return Response(body)

    @extend_schema(
        operation_id="list_redemptions",
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("page", int),
            OpenApiParameter("result", str, enum=["SUCCESS", "FAILURE"]),
            OpenApiParameter("campaign", str),
            OpenApiParameter("customer", str),
            OpenApiParameter("voucher", str),
            OpenApiParameter("order", str, enum=list(ORDERINGS)),
            OpenApiParameter("created_at[before]", str),
            OpenApiParameter("created_at[after]", str),
        ],
        responses=dict,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        redemptions = _loaded(self.project)
        results = params.getlist("result")
        if results:
            unknown = sorted(set(results) - set(Redemption.Result.values))
            if unknown:
                raise invalid_query_params("Query parameter result must be SUCCESS or FAILURE.")
            redemptions = redemptions.filter(result__in=results)
        if params.get("campaign"):
            campaign = campaign_get(project=self.project, identifier=params["campaign"])
            redemptions = redemptions.filter(campaign=campaign) if campaign else redemptions.none()
        if params.get("customer"):
            customer = customer_get(project=self.project, identifier=params["customer"])
            redemptions = redemptions.filter(customer=customer) if customer else redemptions.none()
        if params.get("voucher"):
            redemptions = redemptions.filter(voucher_code=params["voucher"])
        for bound, lookup in (("before", "lt"), ("after", "gt")):
            raw = params.get(f"created_at[{bound}]")
            if raw:
                redemptions = redemptions.filter(
                    **{f"created_at__{lookup}": _datetime_param(f"created_at[{bound}]", raw)}
                )
        order = params.get("order") or "-created_at"
        if order not in ORDERINGS:
            raise invalid_query_params(f"Query parameter order must be one of {', '.join(ORDERINGS)}.")
        rows, total, _ = page_of(request, redemptions.order_by(*ORDERINGS[order]), max_page=99)
        return Response(list_envelope("redemptions", redemption_objects(self.project, rows), total))


class RedemptionItemApi(ProjectApiView):
    @extend_schema(operation_id="get_redemption", responses=dict)
    def get(self, request: Request, identifier: str) -> Response:
        redemption = _access_redemption(self.project, identifier)
        return Response(redemption_objects(self.project, [redemption])[0])


class RedemptionRollbackApi(ProjectApiView):
    @extend_schema(
        operation_id="rollback_redemption",
        parameters=[OpenApiParameter("reason", str), OpenApiParameter("tracking_id", str)],
        request=RollbackInput,
        responses=dict,
    )
    def post(self, request: Request, identifier: str) -> Response:
        redemption = _access_redemption(self.project, identifier)
        serializer = RollbackInput(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            result = redemption_rollback(
                project=self.project,
                redemption=redemption,
                reason=request.query_params.get("reason") or data.get("reason"),
                tracking_id=request.query_params.get("tracking_id") or data.get("tracking_id"),
                metadata=data.get("metadata"),
            )
        except RollbackRefused as refusal:
            raise ApiError(
                status_code=refusal.status_code,
                key=refusal.key,
                message=MESSAGES.get(refusal.key, refusal.key.replace("_", " ")),
                details=refusal.details,
                resource_id=redemption.public_id,
                resource_type="redemption",
            ) from None
        rollback = _loaded(self.project).get(pk=result.rollback.pk)
        return Response(redemption_objects(self.project, [rollback])[0])


class VoucherRedemptionsApi(ProjectApiView):
    @extend_schema(
        operation_id="get_voucher_redemptions",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("page", int)],
        responses=dict,
    )
    def get(self, request: Request, code: str) -> Response:
        voucher = (
            Voucher.objects.for_project(self.project).select_related("campaign").filter(code=code).first()
        )
        if voucher is None:
            raise not_found("voucher", code)
        redemptions = _loaded(self.project).filter(voucher=voucher).order_by("-created_at", "-id")
        rows, total, _ = page_of(request, redemptions)
        return Response(redemption_entry_list(voucher, redemption_objects(self.project, rows), total))
