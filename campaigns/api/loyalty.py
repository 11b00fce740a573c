"""The legacy `/v1/loyalties` API (members, balance, tiers, earning rules, reward redemption) and the
`/v1/rewards` catalogue, as the official SDK's LoyaltiesApi and RewardsApi call them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.loyalty import ledger, members, rewards, tiers
from campaigns.loyalty.errors import LoyaltyRefused
from campaigns.loyalty.representation import (
    balance_object,
    bucket_object,
    member_object,
    reward_redemption_object,
    tier_object,
    transaction_object,
)
from campaigns.loyalty.selectors import card_by_code, next_expiration, voucher_by_code
from campaigns.models import (
    Campaign,
    CampaignType,
    LoyaltyCard,
    LoyaltyPointsBucket,
    LoyaltyTier,
    LoyaltyTransaction,
    Reward,
    VoucherType,
)
from campaigns.publications import PublicationRefused
from campaigns.selectors import campaign_get
from customers.api.serializers import CustomerCreateInput
from customers.services import CustomerNotFound
from tenancy.api.errors import ApiError, not_found
from tenancy.api.fields import (
    MetadataField,
    StrictCharField,
    StrictChoiceField,
    StrictDictField,
    StrictIntegerField,
    StrictSerializer,
    validated,
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


def refused(error: LoyaltyRefused | PublicationRefused) -> ApiError:
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


# --- Access: everything is looked up inside the project; another project's object is a 404 ----------


def access_program(project: Project, identifier: str) -> Campaign:
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


def access_card(project: Project, code: str, campaign: Campaign | None = None) -> LoyaltyCard:
    """The member behind a card code: 400 `invalid_voucher` for a code that is not a loyalty card, 404
    for a missing code, another project's, another program's or one nobody holds."""
    card = card_by_code(project, code)
    voucher = None
    if card is None:
        voucher = voucher_by_code(project, code)
        if voucher is not None and members.member_adopt(project=project, voucher=voucher) is not None:
            card = card_by_code(project, code)
    if card is None or (campaign is not None and card.campaign_id != campaign.pk):
        voucher = voucher or voucher_by_code(project, code)
        if voucher is not None and voucher.type != VoucherType.LOYALTY_CARD:
            raise ApiError(
                status_code=400,
                key="invalid_voucher",
                message="Invalid voucher",
                details=f"Voucher {code} is not a loyalty card.",
            )
        raise not_found("loyalty_card", code)
    return card


def access_tier(project: Project, campaign: Campaign, identifier: str) -> LoyaltyTier:
    tier = LoyaltyTier.objects.for_project(project).filter(campaign=campaign, public_id=identifier).first()
    if tier is None:
        raise not_found("loyalty_tier", identifier)
    return tier


def access_reward(project: Project, identifier: str) -> Reward:
    reward = (
        Reward.objects.for_project(project).select_related("campaign").filter(public_id=identifier).first()
    )
    if reward is None:
        raise not_found("reward", identifier)
    return reward


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
        campaign = access_program(self.project, campaign_id)
        fields = validated(MemberCreateInput, request.data)
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
            raise refused(error) from None
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
        campaign = access_program(self.project, campaign_id)
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
        campaign = access_program(self.project, campaign_id)
        return Response(_member(self.project, access_card(self.project, member_id, campaign)))


class LoyaltyMemberGetApi(ProjectApiView):
    @extend_schema(operation_id="get_member", responses=dict)
    def get(self, request: Request, member_id: str) -> Response:
        return Response(_member(self.project, access_card(self.project, member_id)))


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
        campaign = access_program(self.project, campaign_id) if campaign_id is not None else None
        card = access_card(self.project, member_id, campaign)
        fields = validated(BalanceInput, request.data)
        try:
            movement = ledger.balance_update(project=self.project, card_id=card.pk, **fields)
        except LoyaltyRefused as error:
            raise refused(error) from None
        return Response(balance_object(card, movement))


class LoyaltyPointsExpirationApi(ProjectApiView):
    @extend_schema(
        operation_id="list_points_expiration",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("page", int)],
        responses=dict,
    )
    def get(self, request: Request, campaign_id: str, member_id: str) -> Response:
        campaign = access_program(self.project, campaign_id)
        card = access_card(self.project, member_id, campaign)
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


class LoyaltyTransactionsApi(ProjectApiView):
    @extend_schema(
        operation_id="list_loyalty_card_transactions1",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("page", int)],
        responses=dict,
    )
    def get(self, request: Request, member_id: str, campaign_id: str | None = None) -> Response:
        campaign = access_program(self.project, campaign_id) if campaign_id is not None else None
        card = access_card(self.project, member_id, campaign)
        entries = (
            LoyaltyTransaction.objects.for_project(self.project)
            .filter(card=card)
            .select_related("earning_rule")
            .order_by("-created_at", "-pk")
        )
        rows, _, has_more = page_of(request, entries)
        items = [transaction_object(entry, card) for entry in rows]
        return Response(list_envelope("data", items, len(items), has_more=has_more, more_starting_after=None))


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
        campaign = access_program(self.project, campaign_id)
        if not isinstance(request.data, list) or not request.data or len(request.data) > 100:
            raise ApiError(
                status_code=400,
                key="invalid_payload",
                message="Invalid payload",
                details="The body must be an array of 1 to 100 tiers.",
            )
        items = validated(TierCreateInput, request.data, many=True)
        try:
            created = tiers.tiers_create(project=self.project, campaign=campaign, items=items)
        except LoyaltyRefused as error:
            raise refused(error) from None
        return Response([tier_object(tier, campaign_public_id=campaign.public_id) for tier in created])

    @extend_schema(
        operation_id="list_loyalty_tiers",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("page", int)],
        responses=dict,
    )
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign = access_program(self.project, campaign_id)
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
        campaign = access_program(self.project, campaign_id)
        tier = access_tier(self.project, campaign, tier_id)
        return Response(tier_object(tier, campaign_public_id=campaign.public_id))


class LoyaltyMemberTiersApi(ProjectApiView):
    @extend_schema(operation_id="list_member_loyalty_tier", responses=dict)
    def get(self, request: Request, member_id: str) -> Response:
        card = access_card(self.project, member_id)
        items = []
        if card.tier is not None:
            items.append(tier_object(card.tier, campaign_public_id=card.campaign.public_id, card=card))
        return Response(list_envelope("data", items, len(items)))


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
        campaign = access_program(self.project, campaign_id) if campaign_id is not None else None
        card = access_card(self.project, member_id, campaign)
        fields = validated(RewardRedemptionInput, request.data)
        reward = access_reward(self.project, fields["reward"]["id"])
        try:
            redemption = rewards.reward_redeem(
                project=self.project, card_id=card.pk, reward=reward, metadata=fields.get("metadata")
            )
        except (LoyaltyRefused, PublicationRefused) as error:
            raise refused(error) from None
        card = card_by_code(self.project, member_id)
        redemption.reward, redemption.card = reward, card
        return Response(reward_redemption_object(redemption, card))
