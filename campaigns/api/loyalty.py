"""The legacy `/v1/loyalties` API (members, balance, tiers, earning rules, reward redemption) and the
`/v1/rewards` catalogue, as the official SDK's LoyaltiesApi and RewardsApi call them."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.api.serializers import DayOfWeekField, ValidityTimeframeInput
from campaigns.loyalty import earning, ledger, members, rewards, tiers
from campaigns.loyalty.errors import LoyaltyRefused
from campaigns.loyalty.representation import (
    assignment_object,
    balance_object,
    bucket_object,
    earning_rule_object,
    member_object,
    reward_object,
    reward_redemption_object,
    tier_object,
)
from campaigns.loyalty.selectors import card_by_code, next_expiration, voucher_by_code
from campaigns.models import (
    Campaign,
    CampaignType,
    EarningRule,
    LoyaltyCard,
    LoyaltyPointsBucket,
    LoyaltyTier,
    Reward,
    RewardAssignment,
    VoucherType,
)
from campaigns.publications import PublicationRefused
from campaigns.selectors import campaign_get
from customers.api.serializers import CustomerCreateInput
from customers.services import CustomerNotFound
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
)
from tenancy.api.paging import list_envelope, page_of
from tenancy.api.views import ProjectApiView
from tenancy.models import Project

MESSAGES = {
    "loyalty_card_points_exceeded": "Loyalty card points exceeded",
    "no_voucher_suitable_for_publication": "Couldn't find any voucher suitable for publication.",
    "duplicate_found": "Duplicated resource found",
    "not_found": "Resource not found",
}


def _refused(error: LoyaltyRefused | PublicationRefused) -> ApiError:
    return ApiError(
        status_code=error.status_code,
        key=error.key,
        message=MESSAGES.get(error.key, error.key.replace("_", " ").capitalize()),
        details=error.details,
    )


class NotSupported(serializers.Field):
    """A field the SDK sends as null when a model was built with `from_dict`; a value is refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        raise serializers.ValidationError("is not supported by this server")

    def to_representation(self, value: Any) -> Any:
        return value


def _valid(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> Any:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Access: everything is looked up inside the project; another project's object is a 404 ----------


def _access_program(project: Project, identifier: str) -> Campaign:
    campaign = campaign_get(project=project, identifier=identifier)
    if campaign is None:
        raise not_found("campaign", identifier)
    if campaign.campaign_type != CampaignType.LOYALTY_PROGRAM:
        raise ApiError(
            status_code=400,
            key="invalid_campaign_params",
            message="Invalid campaign params",
            details=f"Campaign {campaign.name} is a {campaign.campaign_type}, not a loyalty program.",
        )
    return campaign


def _access_card(project: Project, code: str, campaign: Campaign | None = None) -> LoyaltyCard:
    """The member behind a card code: 400 `invalid_voucher` for a code that is not a loyalty card, 404
    for a missing code, another project's, another program's or one nobody holds."""
    card = card_by_code(project, code)
    if card is None or (campaign is not None and card.campaign_id != campaign.pk):
        voucher = voucher_by_code(project, code)
        if voucher is not None and voucher.type != VoucherType.LOYALTY_CARD:
            raise ApiError(
                status_code=400,
                key="invalid_voucher",
                message="Invalid voucher",
                details=f"Voucher {code} is not a loyalty card.",
            )
        raise not_found("loyalty_card", code)
    return card


def _access_tier(project: Project, campaign: Campaign, identifier: str) -> LoyaltyTier:
    tier = LoyaltyTier.objects.for_project(project).filter(campaign=campaign, public_id=identifier).first()
    if tier is None:
        raise not_found("loyalty_tier", identifier)
    return tier


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


def _access_reward(project: Project, identifier: str) -> Reward:
    reward = (
        Reward.objects.for_project(project).select_related("campaign").filter(public_id=identifier).first()
    )
    if reward is None:
        raise not_found("reward", identifier)
    return reward


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


def _member(project: Project, card: LoyaltyCard) -> dict[str, Any]:
    return member_object(card, next_expiration(project, [card.pk]).get(card.pk))


# --- Members -------------------------------------------------------------------------------------------


class MemberCreateInput(StrictSerializer):
    voucher = StrictCharField(required=False, allow_null=True, max_length=255)
    source_id = StrictCharField(required=False, allow_null=True, max_length=255)
    customer = CustomerCreateInput()
    metadata = MetadataField()
    channel = StrictCharField(required=False, allow_null=True, max_length=100)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["customer"].get("id") and not attrs["customer"].get("source_id"):
            raise serializers.ValidationError({"customer": ["needs an id or a source_id"]})
        return attrs


class LoyaltyMemberCollectionApi(ProjectApiView):
    @extend_schema(operation_id="add_member", request=MemberCreateInput, responses=dict)
    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = _access_program(self.project, campaign_id)
        fields = _valid(MemberCreateInput, request.data)
        voucher = None
        if fields.get("voucher"):
            voucher = voucher_by_code(self.project, fields["voucher"])
            if voucher is None:
                raise not_found("voucher", fields["voucher"])
        try:
            card, _ = members.member_add_for_customer_fields(
                project=self.project,
                campaign=campaign,
                customer_fields=fields["customer"],
                voucher=voucher,
                source_id=fields.get("source_id"),
                channel=fields.get("channel"),
                metadata=fields.get("metadata"),
            )
        except CustomerNotFound as missing:
            raise not_found("customer", missing.identifier) from None
        except (LoyaltyRefused, PublicationRefused) as error:
            raise _refused(error) from None
        return Response(_member(self.project, card))

    @extend_schema(
        operation_id="list_members",
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("page", int),
            OpenApiParameter("customer", str),
        ],
        responses=dict,
    )
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign = _access_program(self.project, campaign_id)
        cards = (
            LoyaltyCard.objects.for_project(self.project)
            .filter(campaign=campaign)
            .select_related("voucher", "voucher__campaign", "customer", "tier")
            .order_by("-created_at", "-pk")
        )
        customer = request.query_params.get("customer")
        if customer:
            cards = cards.filter(customer__public_id=customer) | cards.filter(customer__source_id=customer)
        rows, total, _ = page_of(request, cards)
        expirations = next_expiration(self.project, [card.pk for card in rows])
        items = [member_object(card, expirations.get(card.pk)) for card in rows]
        return Response(list_envelope("vouchers", items, total))


class LoyaltyMemberItemApi(ProjectApiView):
    @extend_schema(operation_id="get_member1", responses=dict)
    def get(self, request: Request, campaign_id: str, member_id: str) -> Response:
        campaign = _access_program(self.project, campaign_id)
        return Response(_member(self.project, _access_card(self.project, member_id, campaign)))


class LoyaltyMemberGetApi(ProjectApiView):
    @extend_schema(operation_id="get_member", responses=dict)
    def get(self, request: Request, member_id: str) -> Response:
        return Response(_member(self.project, _access_card(self.project, member_id)))


# --- Balance and points expiration ----------------------------------------------------------------------


class BalanceInput(StrictSerializer):
    points = StrictIntegerField(min_value=-(10**12), max_value=10**12)
    expiration_type = StrictChoiceField(
        choices=["PROGRAM_RULES", "CUSTOM_DATE", "NON_EXPIRING"], required=False, allow_null=True
    )
    # The docs say YYYY-MM-DD; the SDK sends a full isoformat datetime.
    expiration_date = StrictCharField(required=False, allow_null=True, max_length=40)
    reason = StrictCharField(required=False, allow_null=True, max_length=1000)
    source_id = StrictCharField(required=False, allow_null=True, max_length=255)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from django.utils.dateparse import parse_date, parse_datetime

        raw = attrs.get("expiration_date")
        if attrs.get("expiration_type") == "CUSTOM_DATE":
            if not raw:
                raise serializers.ValidationError({"expiration_date": ["is required for CUSTOM_DATE"]})
            parsed = parse_date(raw) if len(raw) == 10 else parse_datetime(raw)
            if parsed is None:
                raise serializers.ValidationError({"expiration_date": ["must be a date, YYYY-MM-DD"]})
            attrs["expiration_date"] = parsed if len(raw) == 10 else parsed.date()
        else:
            attrs["expiration_date"] = None
        return attrs


class LoyaltyBalanceApi(ProjectApiView):
    @extend_schema(operation_id="update_loyalty_card_balance1", request=BalanceInput, responses=dict)
    def post(self, request: Request, member_id: str, campaign_id: str | None = None) -> Response:
        campaign = _access_program(self.project, campaign_id) if campaign_id is not None else None
        card = _access_card(self.project, member_id, campaign)
        fields = _valid(BalanceInput, request.data)
        try:
            movement = ledger.balance_update(project=self.project, card_id=card.pk, **fields)
        except LoyaltyRefused as error:
            raise _refused(error) from None
        return Response(balance_object(card, movement))


class LoyaltyPointsExpirationApi(ProjectApiView):
    @extend_schema(
        operation_id="list_points_expiration",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("page", int)],
        responses=dict,
    )
    def get(self, request: Request, campaign_id: str, member_id: str) -> Response:
        campaign = _access_program(self.project, campaign_id)
        card = _access_card(self.project, member_id, campaign)
        buckets = (
            LoyaltyPointsBucket.objects.for_project(self.project)
            .filter(card=card, remaining_points__gt=0, expires_at__isnull=False)
            .order_by("expires_at", "pk")
        )
        rows, total, _ = page_of(request, buckets)
        items = [
            bucket_object(
                bucket, voucher_public_id=card.voucher.public_id, campaign_public_id=campaign.public_id
            )
            for bucket in rows
        ]
        return Response(list_envelope("data", items, total))


# --- Tiers ------------------------------------------------------------------------------------------------


class TierPointsInput(StrictSerializer):
    # `from` is a Python keyword: declared below.
    to = StrictIntegerField(required=False, allow_null=True, min_value=0)


TierPointsInput._declared_fields["from"] = StrictIntegerField(min_value=0)


class TierCreateInput(StrictSerializer):
    name = StrictCharField(max_length=255)
    points = TierPointsInput()
    earning_rules = StrictDictField(required=False, allow_null=True)
    rewards = StrictDictField(required=False, allow_null=True)
    metadata = MetadataField()


class LoyaltyTierCollectionApi(ProjectApiView):
    @extend_schema(
        operation_id="create_in_bulk_loyalty_tiers", request=TierCreateInput(many=True), responses=dict
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = _access_program(self.project, campaign_id)
        if not isinstance(request.data, list) or not request.data or len(request.data) > 100:
            raise ApiError(
                status_code=400,
                key="invalid_payload",
                message="Invalid payload",
                details="The body must be an array of 1 to 100 tiers.",
            )
        items = _valid(TierCreateInput, request.data, many=True)
        try:
            created = tiers.tiers_create(project=self.project, campaign=campaign, items=items)
        except LoyaltyRefused as error:
            raise _refused(error) from None
        return Response([tier_object(tier, campaign_public_id=campaign.public_id) for tier in created])

    @extend_schema(
        operation_id="list_loyalty_tiers",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("page", int)],
        responses=dict,
    )
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign = _access_program(self.project, campaign_id)
        rows, total, _ = page_of(
            request,
            LoyaltyTier.objects.for_project(self.project)
            .filter(campaign=campaign)
            .order_by("points_from", "pk"),
        )
        items = [tier_object(tier, campaign_public_id=campaign.public_id) for tier in rows]
        return Response(list_envelope("data", items, total))


class LoyaltyTierItemApi(ProjectApiView):
    @extend_schema(operation_id="get_loyalty_tier", responses=dict)
    def get(self, request: Request, campaign_id: str, tier_id: str) -> Response:
        campaign = _access_program(self.project, campaign_id)
        tier = _access_tier(self.project, campaign, tier_id)
        return Response(tier_object(tier, campaign_public_id=campaign.public_id))


class LoyaltyMemberTiersApi(ProjectApiView):
    @extend_schema(operation_id="list_member_loyalty_tier", responses=dict)
    def get(self, request: Request, member_id: str) -> Response:
        card = _access_card(self.project, member_id)
        items = []
        if card.tier is not None:
            items.append(tier_object(card.tier, campaign_public_id=card.campaign.public_id, card=card))
        return Response(list_envelope("data", items, len(items)))


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


class EarningRuleFieldsInput(StrictSerializer):
    loyalty = EarningLoyaltyInput(required=False)
    source = StrictDictField(required=False, allow_null=True)
    active = StrictBooleanField(required=False, allow_null=True)
    start_date = serializers.DateTimeField(required=False, allow_null=True)
    expiration_date = serializers.DateTimeField(required=False, allow_null=True)
    validity_timeframe = ValidityTimeframeInput(required=False, allow_null=True)
    validity_day_of_week = DayOfWeekField(required=False, allow_null=True)
    validity_hours = StrictDictField(required=False, allow_null=True)
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
        campaign = _access_program(self.project, campaign_id)
        if not isinstance(request.data, list) or not request.data or len(request.data) > 100:
            raise ApiError(
                status_code=400,
                key="invalid_payload",
                message="Invalid payload",
                details="The body must be an array of 1 to 100 earning rules.",
            )
        items = [dict(item) for item in _valid(EarningRuleCreateInput, request.data, many=True)]
        try:
            created = earning.earning_rules_create(project=self.project, campaign=campaign, items=items)
        except LoyaltyRefused as error:
            raise _refused(error) from None
        return Response([earning_rule_object(rule) for rule in created])

    @extend_schema(
        operation_id="list_earning_rules",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("page", int)],
        responses=dict,
    )
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign = _access_program(self.project, campaign_id)
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
        campaign = _access_program(self.project, campaign_id)
        return Response(earning_rule_object(_access_rule(self.project, campaign, rule_id)))

    @extend_schema(operation_id="update_earning_rule", request=EarningRuleFieldsInput, responses=dict)
    def put(self, request: Request, campaign_id: str, rule_id: str) -> Response:
        campaign = _access_program(self.project, campaign_id)
        rule = _access_rule(self.project, campaign, rule_id)
        fields = dict(_valid(EarningRuleFieldsInput, request.data))
        try:
            rule = earning.earning_rule_update(project=self.project, rule=rule, fields=fields)
        except LoyaltyRefused as error:
            raise _refused(error) from None
        return Response(earning_rule_object(rule))

    @extend_schema(operation_id="delete_earning_rule", responses={204: None})
    def delete(self, request: Request, campaign_id: str, rule_id: str) -> Response:
        campaign = _access_program(self.project, campaign_id)
        earning.earning_rule_delete(project=self.project, rule=_access_rule(self.project, campaign, rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EarningRuleEnableApi(ProjectApiView):
    active = True

    @extend_schema(operation_id="enable_earning_rule", request=None, responses=dict)
    def post(self, request: Request, campaign_id: str, rule_id: str) -> Response:
        campaign = _access_program(self.project, campaign_id)
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
        fields = _reward_fields(_valid(RewardCreateInput, request.data))
        try:
            reward = rewards.reward_create(
                project=self.project, fields=fields, campaign_lookup=_campaign_lookup(self.project)
            )
        except LoyaltyRefused as error:
            raise _refused(error) from None
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
        return Response(reward_object(_access_reward(self.project, reward_id)))

    @extend_schema(operation_id="update_reward", request=RewardInput, responses=dict)
    def put(self, request: Request, reward_id: str) -> Response:
        reward = _access_reward(self.project, reward_id)
        fields = _reward_fields(_valid(RewardInput, request.data))
        try:
            reward = rewards.reward_update(
                project=self.project,
                reward=reward,
                fields=fields,
                campaign_lookup=_campaign_lookup(self.project),
            )
        except LoyaltyRefused as error:
            raise _refused(error) from None
        return Response(reward_object(reward))

    @extend_schema(operation_id="delete_reward", responses={204: None})
    def delete(self, request: Request, reward_id: str) -> Response:
        rewards.reward_delete(project=self.project, reward=_access_reward(self.project, reward_id))
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
        raise _refused(error) from None
    assignment.reward, assignment.campaign = reward, campaign
    return assignment


class RewardAssignmentCollectionApi(ProjectApiView):
    @extend_schema(operation_id="create_reward_assignment", request=RewardAssignmentInput, responses=dict)
    def post(self, request: Request, reward_id: str) -> Response:
        reward = _access_reward(self.project, reward_id)
        fields = _valid(RewardAssignmentInput, request.data)
        campaign = _access_program(self.project, fields["campaign"])
        points = fields["parameters"]["loyalty"]["points"]
        return Response(assignment_object(_assign(self.project, reward, campaign, points)))

    @extend_schema(
        operation_id="list_reward_assignments",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("page", int)],
        responses=dict,
    )
    def get(self, request: Request, reward_id: str) -> Response:
        reward = _access_reward(self.project, reward_id)
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
        reward = _access_reward(self.project, reward_id)
        return Response(assignment_object(_access_assignment(self.project, reward, assignment_id)))

    @extend_schema(operation_id="update_reward_assignment", request=AssignmentUpdateInput, responses=dict)
    def put(self, request: Request, reward_id: str, assignment_id: str) -> Response:
        reward = _access_reward(self.project, reward_id)
        assignment = _access_assignment(self.project, reward, assignment_id)
        fields = _valid(AssignmentUpdateInput, request.data)
        assignment = rewards.reward_assignment_update(
            project=self.project, assignment=assignment, points=fields["parameters"]["loyalty"]["points"]
        )
        return Response(assignment_object(assignment))

    @extend_schema(operation_id="delete_reward_assignment", responses={204: None})
    def delete(self, request: Request, reward_id: str, assignment_id: str) -> Response:
        reward = _access_reward(self.project, reward_id)
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
        campaign = _access_program(self.project, campaign_id)
        if not isinstance(request.data, list) or not request.data or len(request.data) > 100:
            raise ApiError(
                status_code=400,
                key="invalid_payload",
                message="Invalid payload",
                details="The body must be an array of 1 to 100 reward assignments.",
            )
        items = _valid(LoyaltyRewardAssignmentInput, request.data, many=True)
        with transaction.atomic():
            assignments = [
                _assign(
                    self.project,
                    _access_reward(self.project, item["reward"]),
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
        campaign = _access_program(self.project, campaign_id)
        assignments = (
            RewardAssignment.objects.for_project(self.project)
            .filter(campaign=campaign)
            .select_related("reward", "campaign")
            .order_by("-created_at", "-pk")
        )
        rows, total, _ = page_of(request, assignments)
        return Response(list_envelope("data", [assignment_object(a) for a in rows], total))


# --- Reward redemption -----------------------------------------------------------------------------


class RedemptionRewardInput(StrictSerializer):
    id = StrictCharField(max_length=255)
    points = StrictIntegerField(required=False, allow_null=True, min_value=1)


class RewardRedemptionInput(StrictSerializer):
    reward = RedemptionRewardInput()
    order = StrictDictField(required=False, allow_null=True)
    metadata = MetadataField()


class LoyaltyRedemptionApi(ProjectApiView):
    @extend_schema(operation_id="redeem_reward1", request=RewardRedemptionInput, responses=dict)
    def post(self, request: Request, member_id: str, campaign_id: str | None = None) -> Response:
        campaign = _access_program(self.project, campaign_id) if campaign_id is not None else None
        card = _access_card(self.project, member_id, campaign)
        fields = _valid(RewardRedemptionInput, request.data)
        reward = _access_reward(self.project, fields["reward"]["id"])
        try:
            redemption = rewards.reward_redeem(
                project=self.project, card_id=card.pk, reward=reward, metadata=fields.get("metadata")
            )
        except (LoyaltyRefused, PublicationRefused) as error:
            raise _refused(error) from None
        card = card_by_code(self.project, member_id)
        redemption.reward, redemption.card = reward, card
        return Response(reward_redemption_object(redemption, card))


# Appended to campaigns.api.urls. The campaign-less `loyalties/members/...` routes come first: a card
# code there must never be read as a campaign id.
urlpatterns = [
    path("loyalties/members/<str:member_id>", LoyaltyMemberGetApi.as_view(), name="loyalty-member-get"),
    path(
        "loyalties/members/<str:member_id>/balance",
        LoyaltyBalanceApi.as_view(),
        name="loyalty-member-balance",
    ),
    path(
        "loyalties/members/<str:member_id>/tiers",
        LoyaltyMemberTiersApi.as_view(),
        name="loyalty-member-tiers",
    ),
    path(
        "loyalties/members/<str:member_id>/redemption",
        LoyaltyRedemptionApi.as_view(),
        name="loyalty-member-redemption",
    ),
    path("loyalties/<str:campaign_id>/members", LoyaltyMemberCollectionApi.as_view(), name="loyalty-members"),
    path(
        "loyalties/<str:campaign_id>/members/<str:member_id>",
        LoyaltyMemberItemApi.as_view(),
        name="loyalty-member-item",
    ),
    path(
        "loyalties/<str:campaign_id>/members/<str:member_id>/balance",
        LoyaltyBalanceApi.as_view(),
        name="loyalty-balance",
    ),
    path(
        "loyalties/<str:campaign_id>/members/<str:member_id>/points-expiration",
        LoyaltyPointsExpirationApi.as_view(),
        name="loyalty-points-expiration",
    ),
    path(
        "loyalties/<str:campaign_id>/members/<str:member_id>/redemption",
        LoyaltyRedemptionApi.as_view(),
        name="loyalty-redemption",
    ),
    path("loyalties/<str:campaign_id>/tiers", LoyaltyTierCollectionApi.as_view(), name="loyalty-tiers"),
    path(
        "loyalties/<str:campaign_id>/tiers/<str:tier_id>",
        LoyaltyTierItemApi.as_view(),
        name="loyalty-tier-item",
    ),
    path(
        "loyalties/<str:campaign_id>/earning-rules",
        EarningRuleCollectionApi.as_view(),
        name="loyalty-earning-rules",
    ),
    path(
        "loyalties/<str:campaign_id>/earning-rules/<str:rule_id>",
        EarningRuleItemApi.as_view(),
        name="loyalty-earning-rule-item",
    ),
    path(
        "loyalties/<str:campaign_id>/earning-rules/<str:rule_id>/enable",
        EarningRuleEnableApi.as_view(),
        name="loyalty-earning-rule-enable",
    ),
    path(
        "loyalties/<str:campaign_id>/earning-rules/<str:rule_id>/disable",
        EarningRuleDisableApi.as_view(),
        name="loyalty-earning-rule-disable",
    ),
    path("loyalties/<str:campaign_id>/rewards", LoyaltyRewardAssignApi.as_view(), name="loyalty-rewards"),
    path(
        "loyalties/<str:campaign_id>/reward-assignments",
        LoyaltyRewardAssignApi.as_view(),
        name="loyalty-reward-assignments",
    ),
    path("rewards", RewardCollectionApi.as_view(), name="reward-collection"),
    path("rewards/<str:reward_id>", RewardItemApi.as_view(), name="reward-item"),
    path(
        "rewards/<str:reward_id>/assignments",
        RewardAssignmentCollectionApi.as_view(),
        name="reward-assignments",
    ),
    path(
        "rewards/<str:reward_id>/assignments/<str:assignment_id>",
        RewardAssignmentItemApi.as_view(),
        name="reward-assignment-item",
    ),
]
