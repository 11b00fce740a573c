"""The loyalty catalogue API: earning rules (`/v1/loyalties/{campaignId}/earning-rules`), rewards
(`/v1/rewards`) and their assignments to programs, as the SDK's LoyaltiesApi and RewardsApi call them."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.api.loyalty import NotSupported, access_program, access_reward, refused
from campaigns.api.serializers import DayOfWeekField, ValidityTimeframeInput
from campaigns.loyalty import earning, rewards
from campaigns.loyalty.errors import LoyaltyRefused
from campaigns.loyalty.representation import assignment_object, earning_rule_object, reward_object
from campaigns.models import Campaign, EarningRule, Reward, RewardAssignment
from campaigns.selectors import campaign_get
from tenancy.api.errors import ApiError, not_found
from tenancy.api.fields import (
    MetadataField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDictField,
    StrictIntegerField,
    StrictNumberField,
    StrictSerializer,
    validated,
)
from tenancy.api.paging import list_envelope, page_of
from tenancy.api.views import ProjectApiView
from tenancy.models import Project


def _access_rule(project: Project, campaign: Campaign, identifier: str) -> EarningRule:
    rule = (
        EarningRule.objects.for_project(project)
        .select_related("campaign")
        .filter(campaign=campaign, public_id=identifier)
        .first()
    )
    if rule is None:
        raise not_found("earning_rule", identifier)
    return rule


def _access_assignment(project: Project, reward: Reward, identifier: str) -> RewardAssignment:
    assignment = (
        RewardAssignment.objects.for_project(project)
        .select_related("reward", "campaign")
        .filter(reward=reward, public_id=identifier)
        .first()
    )
    if assignment is None:
        raise not_found("reward_assignment", identifier)
    return assignment


def _campaign_lookup(project: Project):
    return lambda identifier: campaign_get(project=project, identifier=identifier)


# --- Earning rules ---------------------------------------------------------------------------------------


class AmountRuleInput(StrictSerializer):
    every = StrictIntegerField(min_value=1)
    points = StrictIntegerField(min_value=1)
    property = StrictCharField(required=False, max_length=255)


class EarningLoyaltyInput(StrictSerializer):
    type = StrictChoiceField(choices=["FIXED", "PROPORTIONAL"])
    points = StrictIntegerField(required=False, allow_null=True, min_value=1)
    calculation_type = StrictChoiceField(choices=list(earning.CALCULATIONS), required=False, allow_null=True)
    order = serializers.DictField(child=AmountRuleInput(), required=False, allow_null=True)
    custom_event = serializers.DictField(child=AmountRuleInput(), required=False, allow_null=True)
    points_formula = NotSupported()
    order_items = NotSupported()
    customer = NotSupported()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in attrs.items() if value is not None}


class ClockField(StrictCharField):
    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        hours, _, minutes = value.partition(":")
        if not (
            len(value) == 5
            and hours.isdigit()
            and minutes.isdigit()
            and int(hours) <= 24
            and int(minutes) < 60
        ):
            raise serializers.ValidationError("must be a time, HH:MM")
        return value


class DailyWindowInput(StrictSerializer):
    start_time = ClockField()
    expiration_time = ClockField()
    days_of_week = DayOfWeekField(required=False, allow_null=True)


class ValidityHoursInput(StrictSerializer):
    daily = DailyWindowInput(many=True)


class EarningRuleFieldsInput(StrictSerializer):
    loyalty = EarningLoyaltyInput(required=False)
    source = StrictDictField(required=False, allow_null=True)
    active = StrictBooleanField(required=False, allow_null=True)
    start_date = serializers.DateTimeField(required=False, allow_null=True)
    expiration_date = serializers.DateTimeField(required=False, allow_null=True)
    validity_timeframe = ValidityTimeframeInput(required=False, allow_null=True)
    validity_day_of_week = DayOfWeekField(required=False, allow_null=True)
    validity_hours = ValidityHoursInput(required=False, allow_null=True)
    metadata = MetadataField()
    validation_rule_id = NotSupported()
    pending_points = NotSupported()
    expiration_rules = NotSupported()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "active" in attrs and attrs["active"] is None:
            del attrs["active"]
        return attrs


class EarningRuleCreateInput(EarningRuleFieldsInput):
    event = StrictCharField(max_length=300)
    loyalty = EarningLoyaltyInput()
    custom_event = StrictDictField(required=False, allow_null=True)
    segment = NotSupported()
    loyalty_tier = NotSupported()


class EarningRuleCollectionApi(ProjectApiView):
    @extend_schema(
        operation_id="create_earning_rule", request=EarningRuleCreateInput(many=True), responses=dict
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = access_program(self.project, campaign_id)
        if not isinstance(request.data, list) or not request.data or len(request.data) > 100:
            raise ApiError(
                status_code=400,
                key="invalid_payload",
                message="Invalid payload",
                details="The body must be an array of 1 to 100 earning rules.",
            )
        items = [dict(item) for item in validated(EarningRuleCreateInput, request.data, many=True)]
        try:
            created = earning.earning_rules_create(project=self.project, campaign=campaign, items=items)
        except LoyaltyRefused as error:
            raise refused(error) from None
        return Response([earning_rule_object(rule) for rule in created])

    @extend_schema(
        operation_id="list_earning_rules",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("page", int)],
        responses=dict,
    )
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign = access_program(self.project, campaign_id)
        rules = (
            EarningRule.objects.for_project(self.project)
            .filter(campaign=campaign)
            .select_related("campaign")
            .order_by("-created_at", "-pk")
        )
        rows, total, _ = page_of(request, rules)
        return Response(list_envelope("data", [earning_rule_object(rule) for rule in rows], total))


class EarningRuleItemApi(ProjectApiView):
    @extend_schema(operation_id="get_earning_rule", responses=dict)
    def get(self, request: Request, campaign_id: str, rule_id: str) -> Response:
        campaign = access_program(self.project, campaign_id)
        return Response(earning_rule_object(_access_rule(self.project, campaign, rule_id)))

    @extend_schema(operation_id="update_earning_rule", request=EarningRuleFieldsInput, responses=dict)
    def put(self, request: Request, campaign_id: str, rule_id: str) -> Response:
        campaign = access_program(self.project, campaign_id)
        rule = _access_rule(self.project, campaign, rule_id)
        fields = dict(validated(EarningRuleFieldsInput, request.data))
        try:
            rule = earning.earning_rule_update(project=self.project, rule=rule, fields=fields)
        except LoyaltyRefused as error:
            raise refused(error) from None
        return Response(earning_rule_object(rule))

    @extend_schema(operation_id="delete_earning_rule", responses={204: None})
    def delete(self, request: Request, campaign_id: str, rule_id: str) -> Response:
        campaign = access_program(self.project, campaign_id)
        earning.earning_rule_delete(project=self.project, rule=_access_rule(self.project, campaign, rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EarningRuleEnableApi(ProjectApiView):
    active = True

    @extend_schema(operation_id="enable_earning_rule", request=None, responses=dict)
    def post(self, request: Request, campaign_id: str, rule_id: str) -> Response:
        campaign = access_program(self.project, campaign_id)
        rule = _access_rule(self.project, campaign, rule_id)
        rule = earning.earning_rule_update(project=self.project, rule=rule, fields={"active": self.active})
        return Response(earning_rule_object(rule))


class EarningRuleDisableApi(EarningRuleEnableApi):
    active = False

    @extend_schema(operation_id="disable_earning_rule", request=None, responses=dict)
    def post(self, request: Request, campaign_id: str, rule_id: str) -> Response:
        return super().post(request, campaign_id, rule_id)


# --- Rewards -----------------------------------------------------------------------------------------------


class RewardCampaignInput(StrictSerializer):
    id = StrictCharField(max_length=255)
    balance = StrictIntegerField(required=False, allow_null=True, min_value=0)


class RewardCoinInput(StrictSerializer):
    exchange_ratio = StrictNumberField(min_value=0)
    points_ratio = StrictIntegerField(required=False, allow_null=True, min_value=1)


class RewardProductInput(StrictSerializer):
    id = StrictCharField(max_length=255)
    sku_id = StrictCharField(required=False, allow_null=True, max_length=255)


class RewardParametersInput(StrictSerializer):
    campaign = RewardCampaignInput(required=False, allow_null=True)
    coin = RewardCoinInput(required=False, allow_null=True)
    product = RewardProductInput(required=False, allow_null=True)


class RewardAttributesInput(StrictSerializer):
    image_url = StrictCharField(required=False, allow_null=True, max_length=2000)
    description = StrictCharField(required=False, allow_null=True, max_length=10_000)


class RewardInput(StrictSerializer):
    name = StrictCharField(max_length=255, required=False)
    parameters = RewardParametersInput(required=False)
    metadata = MetadataField()
    stock = StrictIntegerField(required=False, allow_null=True, min_value=0)
    attributes = RewardAttributesInput(required=False, allow_null=True)


class RewardCreateInput(RewardInput):
    name = StrictCharField(max_length=255)
    parameters = RewardParametersInput()


def _reward_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Nested serializer output back to plain dicts, without the nulls the SDK leaves out anyway."""
    result = dict(fields)
    if result.get("parameters") is not None:
        result["parameters"] = {
            kind: {key: value for key, value in dict(spec).items() if value is not None}
            for kind, spec in result["parameters"].items()
            if spec is not None
        }
    if result.get("attributes") is not None:
        result["attributes"] = {
            key: value for key, value in result["attributes"].items() if value is not None
        }
    return result


class RewardCollectionApi(ProjectApiView):
    @extend_schema(operation_id="create_reward", request=RewardCreateInput, responses=dict)
    def post(self, request: Request) -> Response:
        fields = _reward_fields(validated(RewardCreateInput, request.data))
        try:
            reward = rewards.reward_create(
                project=self.project, fields=fields, campaign_lookup=_campaign_lookup(self.project)
            )
        except LoyaltyRefused as error:
            raise refused(error) from None
        return Response(reward_object(reward))

    @extend_schema(
        operation_id="list_rewards",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("page", int)],
        responses=dict,
    )
    def get(self, request: Request) -> Response:
        rows, total, _ = page_of(
            request, Reward.objects.for_project(self.project).order_by("-created_at", "-pk")
        )
        return Response(list_envelope("data", [reward_object(reward) for reward in rows], total))


class RewardItemApi(ProjectApiView):
    @extend_schema(operation_id="get_reward", responses=dict)
    def get(self, request: Request, reward_id: str) -> Response:
        return Response(reward_object(access_reward(self.project, reward_id)))

    @extend_schema(operation_id="update_reward", request=RewardInput, responses=dict)
    def put(self, request: Request, reward_id: str) -> Response:
        reward = access_reward(self.project, reward_id)
        fields = _reward_fields(validated(RewardInput, request.data))
        try:
            reward = rewards.reward_update(
                project=self.project,
                reward=reward,
                fields=fields,
                campaign_lookup=_campaign_lookup(self.project),
            )
        except LoyaltyRefused as error:
            raise refused(error) from None
        return Response(reward_object(reward))

    @extend_schema(operation_id="delete_reward", responses={204: None})
    def delete(self, request: Request, reward_id: str) -> Response:
        rewards.reward_delete(project=self.project, reward=access_reward(self.project, reward_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AssignmentLoyaltyInput(StrictSerializer):
    points = StrictIntegerField(min_value=1)
    auto_redeem = NotSupported()


class AssignmentParametersInput(StrictSerializer):
    loyalty = AssignmentLoyaltyInput()


class RewardAssignmentInput(StrictSerializer):
    campaign = StrictCharField(max_length=255)
    parameters = AssignmentParametersInput()
    validation_rules = serializers.ListField(child=StrictCharField(), required=False, allow_null=True)


class LoyaltyRewardAssignmentInput(StrictSerializer):
    reward = StrictCharField(max_length=255)
    parameters = AssignmentParametersInput()
    validation_rules = serializers.ListField(child=StrictCharField(), required=False, allow_null=True)


class AssignmentUpdateInput(StrictSerializer):
    parameters = AssignmentParametersInput()


def _assign(project: Project, reward: Reward, campaign: Campaign, points: int) -> RewardAssignment:
    try:
        assignment = rewards.reward_assign(project=project, reward=reward, campaign=campaign, points=points)
    except LoyaltyRefused as error:
        raise refused(error) from None
    assignment.reward, assignment.campaign = reward, campaign
    return assignment


class RewardAssignmentCollectionApi(ProjectApiView):
    @extend_schema(operation_id="create_reward_assignment", request=RewardAssignmentInput, responses=dict)
    def post(self, request: Request, reward_id: str) -> Response:
        reward = access_reward(self.project, reward_id)
        fields = validated(RewardAssignmentInput, request.data)
        campaign = access_program(self.project, fields["campaign"])
        points = fields["parameters"]["loyalty"]["points"]
        return Response(assignment_object(_assign(self.project, reward, campaign, points)))

    @extend_schema(
        operation_id="list_reward_assignments",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("page", int)],
        responses=dict,
    )
    def get(self, request: Request, reward_id: str) -> Response:
        reward = access_reward(self.project, reward_id)
        assignments = (
            RewardAssignment.objects.for_project(self.project)
            .filter(reward=reward)
            .select_related("reward", "campaign")
            .order_by("-created_at", "-pk")
        )
        rows, total, _ = page_of(request, assignments)
        return Response(list_envelope("data", [assignment_object(a) for a in rows], total))


class RewardAssignmentItemApi(ProjectApiView):
    @extend_schema(operation_id="get_reward_assignment", responses=dict)
    def get(self, request: Request, reward_id: str, assignment_id: str) -> Response:
        reward = access_reward(self.project, reward_id)
        return Response(assignment_object(_access_assignment(self.project, reward, assignment_id)))

    @extend_schema(operation_id="update_reward_assignment", request=AssignmentUpdateInput, responses=dict)
    def put(self, request: Request, reward_id: str, assignment_id: str) -> Response:
        reward = access_reward(self.project, reward_id)
        assignment = _access_assignment(self.project, reward, assignment_id)
        fields = validated(AssignmentUpdateInput, request.data)
        assignment = rewards.reward_assignment_update(
            project=self.project, assignment=assignment, points=fields["parameters"]["loyalty"]["points"]
        )
        return Response(assignment_object(assignment))

    @extend_schema(operation_id="delete_reward_assignment", responses={204: None})
    def delete(self, request: Request, reward_id: str, assignment_id: str) -> Response:
        reward = access_reward(self.project, reward_id)
        assignment = _access_assignment(self.project, reward, assignment_id)
        rewards.reward_assignment_delete(project=self.project, assignment=assignment)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LoyaltyRewardAssignApi(ProjectApiView):
    @extend_schema(
        operation_id="create_reward_assignment1",
        request=LoyaltyRewardAssignmentInput(many=True),
        responses=dict,
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = access_program(self.project, campaign_id)
        if not isinstance(request.data, list) or not request.data or len(request.data) > 100:
            raise ApiError(
                status_code=400,
                key="invalid_payload",
                message="Invalid payload",
                details="The body must be an array of 1 to 100 reward assignments.",
            )
        items = validated(LoyaltyRewardAssignmentInput, request.data, many=True)
        with transaction.atomic():
            assignments = [
                _assign(
                    self.project,
                    access_reward(self.project, item["reward"]),
                    campaign,
                    item["parameters"]["loyalty"]["points"],
                )
                for item in items
            ]
        # Voucherify answers with one assignment object even for an array body.
        return Response(assignment_object(assignments[0]))

    @extend_schema(
        operation_id="list_reward_assignments1",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("page", int)],
        responses=dict,
    )
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign = access_program(self.project, campaign_id)
        assignments = (
            RewardAssignment.objects.for_project(self.project)
            .filter(campaign=campaign)
            .select_related("reward", "campaign")
            .order_by("-created_at", "-pk")
        )
        rows, total, _ = page_of(request, assignments)
        return Response(list_envelope("data", [assignment_object(a) for a in rows], total))
