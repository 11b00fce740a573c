"""`/v1/promotions/...`: a PROMOTION campaign's tiers (PromotionsApi)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.api.rules import WithoutNullsMixin
from campaigns.api.serializers import DayOfWeekField, DiscountInput, ValidityTimeframeInput
from campaigns.models import Campaign, PromotionTier
from campaigns.promotions import (
    ValidationRuleMissing,
    promotion_tier_create,
    promotion_tier_delete,
    promotion_tier_set_active,
    promotion_tier_update,
    promotion_tiers_query,
    tiers_of_campaign,
)
from campaigns.representation import promotion_tier_object
from campaigns.selectors import campaign_get
from campaigns.services import CampaignRefused
from tenancy.api.errors import ApiError, invalid_query_params, not_found
from tenancy.api.fields import (
    MetadataField,
    StrictBooleanField,
    StrictCharField,
    StrictDictField,
    StrictIntegerField,
    StrictSerializer,
    validated,
)
from tenancy.api.paging import list_envelope, page_of
from tenancy.api.views import ProjectApiView
from tenancy.models import Project

MAX_TIERS_PER_CAMPAIGN_LIST = 100


class TierActionInput(WithoutNullsMixin, StrictSerializer):
    discount = DiscountInput(required=False, allow_null=True)


class RuleAssignmentInput(WithoutNullsMixin, StrictSerializer):
    # The SDK's ValidationRuleAssignment: only `rule_id` says anything on a request.
    id = StrictCharField(required=False, allow_null=True)
    rule_id = StrictCharField(max_length=40)
    related_object_id = StrictCharField(required=False, allow_null=True)
    related_object_type = StrictCharField(required=False, allow_null=True)
    created_at = StrictCharField(required=False, allow_null=True)
    object = StrictCharField(required=False, allow_null=True)


class RuleAssignmentsInput(WithoutNullsMixin, StrictSerializer):
    object = StrictCharField(required=False, allow_null=True)
    data_ref = StrictCharField(required=False, allow_null=True)
    data = RuleAssignmentInput(many=True, required=False, max_length=20)
    total = StrictIntegerField(required=False, allow_null=True)


class PromotionTierFieldsInput(WithoutNullsMixin, StrictSerializer):
    """A tier's fields; rules by `validation_rules` (ids, as in `promotion.tiers` of a campaign) or by
    `validation_rule_assignments` (the SDK's tier requests), normalised to `validation_rules`."""

    name = StrictCharField(max_length=255)
    banner = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=10_000)
    action = TierActionInput(required=False, allow_null=True)
    metadata = MetadataField()
    active = StrictBooleanField(required=False, allow_null=True)
    hierarchy = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=1_000_000)
    start_date = serializers.DateTimeField(required=False, allow_null=True)
    expiration_date = serializers.DateTimeField(required=False, allow_null=True)
    validity_timeframe = ValidityTimeframeInput(required=False, allow_null=True)
    validity_day_of_week = DayOfWeekField(required=False, allow_null=True)
    validity_hours = StrictDictField(required=False, allow_null=True)
    category = StrictCharField(required=False, allow_null=True, max_length=255)
    category_id = StrictCharField(required=False, allow_null=True, max_length=255)
    validation_rules = serializers.ListField(
        child=StrictCharField(max_length=40), required=False, allow_null=True, max_length=20
    )
    validation_rule_assignments = RuleAssignmentsInput(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start_date"), attrs.get("expiration_date")
        if start and end and end <= start:
            raise serializers.ValidationError({"expiration_date": ["must be after start_date"]})
        attrs.pop("category_id", None)  # categories are not modelled yet
        assignments = attrs.pop("validation_rule_assignments", None)
        if assignments is not None:
            if attrs.get("validation_rules") is not None:
                raise serializers.ValidationError(
                    {"validation_rules": ["give validation_rules or validation_rule_assignments, not both"]}
                )
            attrs["validation_rules"] = [item["rule_id"] for item in assignments.get("data", [])]
        return attrs


class PromotionTierUpdateInput(PromotionTierFieldsInput):
    name = StrictCharField(max_length=255, required=False)


def campaign_tiers_input(tiers: Any) -> list[dict[str, Any]]:
    """`promotion.tiers` of a campaign create: each tier checked as a tier create is; raises DRF's
    ValidationError with per-tier errors."""
    serializer = PromotionTierFieldsInput(data=tiers, many=True)
    serializer.is_valid(raise_exception=True)
    return [dict(tier) for tier in serializer.validated_data]


def _refused(error: CampaignRefused) -> ApiError:
    if isinstance(error, ValidationRuleMissing):
        return not_found("validation_rule", error.identifier)
    return ApiError(
        status_code=error.status_code,
        key=error.key,
        message=error.key.replace("_", " ").capitalize(),
        details=error.details,
    )


def _access_campaign(project: Project, identifier: str) -> Campaign:
    campaign = campaign_get(project=project, identifier=identifier)
    if campaign is None:
        raise not_found("campaign", identifier)
    return campaign


def _access_tier(project: Project, identifier: str) -> PromotionTier:
    tier = promotion_tiers_query(project).filter(public_id=identifier).first()
    if tier is None:
        raise not_found("promotion_tier", identifier)
    return tier


def _reloaded(project: Project, tier: PromotionTier) -> dict[str, Any]:
    return promotion_tier_object(_access_tier(project, tier.public_id))


class CampaignTierCollectionApi(ProjectApiView):
    @extend_schema(operation_id="list_promotion_tiers_from_campaign", responses=dict)
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign = _access_campaign(self.project, campaign_id)
        tiers = tiers_of_campaign(project=self.project, campaign=campaign)
        items = [promotion_tier_object(tier) for tier in tiers]
        return Response(list_envelope("tiers", items, len(items), has_more=False))

    @extend_schema(
        operation_id="add_promotion_tier_to_campaign", request=PromotionTierFieldsInput, responses=dict
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = _access_campaign(self.project, campaign_id)
        fields = validated(PromotionTierFieldsInput, request.data)
        try:
            tier = promotion_tier_create(project=self.project, campaign=campaign, fields=fields)
        except CampaignRefused as error:
            raise _refused(error) from None
        return Response(_reloaded(self.project, tier))


class TierCollectionApi(ProjectApiView):
    @extend_schema(
        operation_id="list_promotion_tiers",
        parameters=[
            OpenApiParameter("is_available", bool),
            OpenApiParameter("limit", int),
            OpenApiParameter("page", int),
            OpenApiParameter("order", str, enum=["created_at", "-created_at", "updated_at", "-updated_at"]),
        ],
        responses=dict,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        tiers = promotion_tiers_query(self.project)
        available = params.get("is_available")
        if available not in (None, "", "true", "false"):
            raise invalid_query_params("Query parameter is_available must be true or false.")
        if available == "true":
            now = timezone.now()
            tiers = (
                tiers.filter(active=True, campaign__active=True)
                .exclude(start_date__gt=now)
                .exclude(expiration_date__lte=now)
                .exclude(campaign__start_date__gt=now)
                .exclude(campaign__expiration_date__lte=now)
            )
        order = params.get("order") or "-created_at"
        orderings = {
            "created_at": ("created_at", "id"),
            "-created_at": ("-created_at", "-id"),
            "updated_at": ("updated_at", "id"),
            "-updated_at": ("-updated_at", "-id"),
        }
        if order not in orderings:
            raise invalid_query_params(f"Query parameter order must be one of {', '.join(orderings)}.")
        rows, total, has_more = page_of(request, tiers.order_by(*orderings[order]))
        items = [promotion_tier_object(tier) for tier in rows]
        return Response(list_envelope("tiers", items, total, has_more=has_more))


class TierItemApi(ProjectApiView):
    @extend_schema(operation_id="get_promotion_tier", responses=dict)
    def get(self, request: Request, tier_id: str) -> Response:
        return Response(promotion_tier_object(_access_tier(self.project, tier_id)))

    @extend_schema(operation_id="update_promotion_tier", request=PromotionTierUpdateInput, responses=dict)
    def put(self, request: Request, tier_id: str) -> Response:
        tier = _access_tier(self.project, tier_id)
        fields = validated(PromotionTierUpdateInput, request.data)
        try:
            promotion_tier_update(project=self.project, tier=tier, fields=fields)
        except CampaignRefused as error:
            raise _refused(error) from None
        return Response(_reloaded(self.project, tier))

    @extend_schema(operation_id="delete_promotion_tier", responses={204: None})
    def delete(self, request: Request, tier_id: str) -> Response:
        tier = _access_tier(self.project, tier_id)
        promotion_tier_delete(project=self.project, tier=tier)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TierEnableApi(ProjectApiView):
    active = True

    @extend_schema(operation_id="enable_promotion_tier", request=None, responses=dict)
    def post(self, request: Request, tier_id: str) -> Response:
        tier = _access_tier(self.project, tier_id)
        promotion_tier_set_active(project=self.project, tier=tier, active=self.active)
        return Response(_reloaded(self.project, tier))


class TierDisableApi(TierEnableApi):
    active = False

    @extend_schema(operation_id="disable_promotion_tier", request=None, responses=dict)
    def post(self, request: Request, tier_id: str) -> Response:
        return super().post(request, tier_id)
