"""Request shapes, validated strictly: unknown fields, floats for ints and wrong-case enums are refused."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from campaigns.models import Campaign, CampaignType, VoucherType
from customers.api.serializers import CustomerCreateInput
from tenancy.api.fields import (
    MetadataField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDictField,
    StrictIntegerField,
    StrictListField,
    StrictNumberField,
    StrictSerializer,
)

MAX_VOUCHERS_COUNT = 10_000_000


DISCOUNT_TYPES = ["AMOUNT", "UNIT", "PERCENT", "FIXED"]
DISCOUNT_EFFECTS = [
    "APPLY_TO_ORDER",
    "APPLY_TO_ITEMS",
    "APPLY_TO_ITEMS_PROPORTIONALLY",
    "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY",
    "APPLY_TO_ITEMS_BY_QUANTITY",
    "ADD_MISSING_ITEMS",
    "ADD_NEW_ITEMS",
    "ADD_MANY_ITEMS",
    "ADD_SAME_ITEMS",
]


class DiscountUnitInput(StrictSerializer):
    unit_off = StrictNumberField(required=False, allow_null=True, min_value=0)
    unit_off_formula = StrictCharField(required=False, allow_null=True)
    unit_type = StrictCharField(required=False, allow_null=True)
    effect = StrictChoiceField(
        choices=["ADD_NEW_ITEMS", "ADD_MISSING_ITEMS"], required=False, allow_null=True
    )


class DiscountInput(StrictSerializer):
    type = StrictChoiceField(choices=DISCOUNT_TYPES)
    amount_off = StrictIntegerField(required=False, allow_null=True, min_value=0)
    amount_off_formula = StrictCharField(required=False, allow_null=True)
    aggregated_amount_limit = StrictIntegerField(required=False, allow_null=True, min_value=0)
    percent_off = StrictNumberField(required=False, allow_null=True, min_value=0, max_value=100)
    percent_off_formula = StrictCharField(required=False, allow_null=True)
    amount_limit = StrictIntegerField(required=False, allow_null=True, min_value=0)
    fixed_amount = StrictIntegerField(required=False, allow_null=True, min_value=0)
    fixed_amount_formula = StrictCharField(required=False, allow_null=True)
    unit_off = StrictNumberField(required=False, allow_null=True, min_value=0)
    unit_off_formula = StrictCharField(required=False, allow_null=True)
    unit_type = StrictCharField(required=False, allow_null=True)
    units = DiscountUnitInput(many=True, required=False, allow_null=True)
    effect = StrictChoiceField(choices=DISCOUNT_EFFECTS, required=False, allow_null=True)
    is_dynamic = StrictBooleanField(required=False, allow_null=True)
    product = StrictDictField(required=False, allow_null=True)
    sku = StrictDictField(required=False, allow_null=True)

    REQUIRED_VALUE = {"AMOUNT": "amount_off", "PERCENT": "percent_off", "FIXED": "fixed_amount"}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        needed = self.REQUIRED_VALUE.get(attrs["type"])
        if needed and attrs.get(needed) is None and attrs.get(f"{needed}_formula") is None:
            raise serializers.ValidationError({needed: [f"is required for a {attrs['type']} discount"]})
        return {key: value for key, value in attrs.items() if value is not None}


class GiftInput(StrictSerializer):
    amount = StrictIntegerField(min_value=0)
    effect = StrictChoiceField(choices=["APPLY_TO_ORDER", "APPLY_TO_ITEMS"], required=False, allow_null=True)


class LoyaltyCardInput(StrictSerializer):
    points = StrictIntegerField(min_value=0)
    expiration_rules = StrictDictField(required=False, allow_null=True)


class CodeConfigInput(StrictSerializer):
    length = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=100)
    charset = StrictCharField(required=False, allow_null=True, max_length=256)
    prefix = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=100)
    postfix = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=100)
    pattern = StrictCharField(required=False, allow_null=True, max_length=100)
    initial_count = StrictIntegerField(required=False, allow_null=True)


class RedemptionInput(StrictSerializer):
    quantity = StrictIntegerField(required=False, allow_null=True, min_value=1)


class CampaignVoucherInput(StrictSerializer):
    type = StrictChoiceField(choices=VoucherType.values, required=False)
    discount = DiscountInput(required=False, allow_null=True)
    gift = GiftInput(required=False, allow_null=True)
    loyalty_card = LoyaltyCardInput(required=False, allow_null=True)
    code_config = CodeConfigInput(required=False, allow_null=True)
    redemption = RedemptionInput(required=False, allow_null=True)
    is_referral_code = StrictBooleanField(required=False, allow_null=True)


class ValidityTimeframeInput(StrictSerializer):
    interval = StrictCharField(required=False, allow_null=True)
    duration = StrictCharField(required=False, allow_null=True)


class DayOfWeekField(serializers.ListField):
    child = StrictIntegerField(min_value=0, max_value=6)


class PromotionInput(StrictSerializer):
    tiers = StrictListField()

    def validate_tiers(self, tiers: list[Any]) -> list[Any]:
        from campaigns.api.promotions import campaign_tiers_input  # imports this module

        if len(tiers) > 100:
            raise serializers.ValidationError("at most 100 tiers")
        return campaign_tiers_input(tiers)


class CampaignFieldsInput(StrictSerializer):
    """The fields a campaign create and update share."""

    # The SDK's request models send every optional field they were not given as null
    # (`CampaignsCreateRequestBody.from_dict(...).to_dict()`); for these fields, which have no empty
    # value of their own, null means "not given".
    NULL_MEANS_NOT_GIVEN = ("type", "join_once", "auto_join", "use_voucher_metadata_schema")

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            data = {
                name: value
                for name, value in data.items()
                if not (value is None and name in self.NULL_MEANS_NOT_GIVEN)
            }
        return super().to_internal_value(data)

    description = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=10_000)
    type = StrictChoiceField(choices=Campaign.Type.values, required=False)
    category = StrictCharField(required=False, allow_null=True, max_length=255)
    category_id = StrictCharField(required=False, allow_null=True, max_length=255)
    join_once = StrictBooleanField(required=False)
    auto_join = StrictBooleanField(required=False)
    use_voucher_metadata_schema = StrictBooleanField(required=False)
    start_date = serializers.DateTimeField(required=False, allow_null=True)
    expiration_date = serializers.DateTimeField(required=False, allow_null=True)
    validity_timeframe = ValidityTimeframeInput(required=False, allow_null=True)
    validity_day_of_week = DayOfWeekField(required=False, allow_null=True)
    validity_hours = StrictDictField(required=False, allow_null=True)
    activity_duration_after_publishing = StrictCharField(required=False, allow_null=True, max_length=40)
    metadata = MetadataField()
    referral_program = StrictDictField(required=False, allow_null=True)
    loyalty_tiers_expiration = StrictDictField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start_date"), attrs.get("expiration_date")
        if start and end and end <= start:
            raise serializers.ValidationError({"expiration_date": ["must be after start_date"]})
        attrs.pop("category_id", None)  # categories are not modelled yet
        return attrs


VOUCHER_TYPE_OF_CAMPAIGN = {
    CampaignType.DISCOUNT_COUPONS: {VoucherType.DISCOUNT_VOUCHER},
    CampaignType.REFERRAL_PROGRAM: {VoucherType.DISCOUNT_VOUCHER, VoucherType.GIFT_VOUCHER},
    CampaignType.GIFT_VOUCHERS: {VoucherType.GIFT_VOUCHER},
    CampaignType.LOYALTY_PROGRAM: {VoucherType.LOYALTY_CARD},
}
VALUE_OF_VOUCHER_TYPE = {
    VoucherType.DISCOUNT_VOUCHER: "discount",
    VoucherType.GIFT_VOUCHER: "gift",
    VoucherType.LOYALTY_CARD: "loyalty_card",
}


class CampaignCreateInput(CampaignFieldsInput):
    name = StrictCharField(max_length=255)
    campaign_type = StrictChoiceField(choices=CampaignType.values)
    vouchers_count = StrictIntegerField(
        required=False, allow_null=True, min_value=0, max_value=MAX_VOUCHERS_COUNT
    )
    voucher = CampaignVoucherInput(required=False, allow_null=True)
    promotion = PromotionInput(required=False, allow_null=True)
    validation_rules = serializers.ListField(
        child=StrictCharField(), required=False, allow_null=True, max_length=1
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        campaign_type = attrs["campaign_type"]
        if campaign_type == CampaignType.PROMOTION:
            if not attrs.get("promotion") or not attrs["promotion"].get("tiers"):
                raise serializers.ValidationError(
                    {"promotion": ["tiers are required for a PROMOTION campaign"]}
                )
            if attrs.get("vouchers_count"):
                raise serializers.ValidationError({"vouchers_count": ["a PROMOTION campaign has no codes"]})
            return attrs
        if attrs.get("promotion"):
            raise serializers.ValidationError({"promotion": ["is only allowed for a PROMOTION campaign"]})
        voucher = attrs.get("voucher")
        if not voucher:
            raise serializers.ValidationError({"voucher": [f"is required for a {campaign_type} campaign"]})
        allowed = VOUCHER_TYPE_OF_CAMPAIGN[campaign_type]
        voucher_type = voucher.get("type") or sorted(allowed)[0]
        if voucher_type not in allowed:
            raise serializers.ValidationError(
                {
                    "voucher": {
                        "type": [f"must be {' or '.join(sorted(allowed))} for a {campaign_type} campaign"]
                    }
                }
            )
        voucher["type"] = voucher_type
        value = VALUE_OF_VOUCHER_TYPE[voucher_type]
        if not voucher.get(value):
            raise serializers.ValidationError({"voucher": {value: [f"is required for a {voucher_type}"]}})
        return attrs


class CampaignUpdateInput(CampaignFieldsInput):
    discount = DiscountInput(required=False, allow_null=True)
    gift = GiftInput(required=False, allow_null=True)
    unset_metadata_fields = serializers.ListField(child=StrictCharField(), required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        voucher = {name: attrs.pop(name) for name in ("discount", "gift") if name in attrs}
        if voucher:
            attrs["voucher"] = voucher
        return attrs


class VoucherFieldsInput(StrictSerializer):
    """Per-code fields: `POST /campaigns/{id}/vouchers[/{code}]` and `/import` items."""

    category = StrictCharField(required=False, allow_null=True, max_length=255)
    metadata = MetadataField()
    redemption = RedemptionInput(required=False, allow_null=True)
    additional_info = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=1000)
    start_date = serializers.DateTimeField(required=False, allow_null=True)
    expiration_date = serializers.DateTimeField(required=False, allow_null=True)


class CampaignVoucherCreateInput(VoucherFieldsInput):
    pass


class ImportItemInput(VoucherFieldsInput):
    code = StrictCharField(max_length=255)
    active = StrictBooleanField(required=False, allow_null=True)
    type = StrictChoiceField(choices=VoucherType.values, required=False)
    discount = DiscountInput(required=False, allow_null=True)
    gift = GiftInput(required=False, allow_null=True)
    loyalty_card = LoyaltyCardInput(required=False, allow_null=True)
    validity_timeframe = ValidityTimeframeInput(required=False, allow_null=True)
    validity_day_of_week = DayOfWeekField(required=False, allow_null=True)


class VoucherCreateInput(VoucherFieldsInput):
    """`POST /v1/vouchers/{code}`: a standalone code, or one added to `campaign` / `campaign_id`."""

    campaign = StrictCharField(required=False, allow_null=True)
    campaign_id = StrictCharField(required=False, allow_null=True)
    category_id = StrictCharField(required=False, allow_null=True)
    active = StrictBooleanField(required=False, allow_null=True)
    type = StrictChoiceField(choices=VoucherType.values, required=False)
    discount = DiscountInput(required=False, allow_null=True)
    gift = GiftInput(required=False, allow_null=True)
    loyalty_card = LoyaltyCardInput(required=False, allow_null=True)
    validity_timeframe = ValidityTimeframeInput(required=False, allow_null=True)
    validity_day_of_week = DayOfWeekField(required=False, allow_null=True)
    validity_hours = StrictDictField(required=False, allow_null=True)
    validation_rules = serializers.ListField(child=StrictCharField(), required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.pop("category_id", None)
        attrs.pop("validation_rules", None)
        if not attrs.get("campaign") and not attrs.get("campaign_id"):
            voucher_type = attrs.get("type") or VoucherType.DISCOUNT_VOUCHER
            attrs["type"] = voucher_type
            value = VALUE_OF_VOUCHER_TYPE[voucher_type]
            if not attrs.get(value):
                raise serializers.ValidationError({value: [f"is required for a standalone {voucher_type}"]})
        return attrs


class PublicationCampaignInput(StrictSerializer):
    name = StrictCharField(max_length=255)
    count = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=50)


class PublicationCustomerInput(CustomerCreateInput):
    pass


class PublicationCreateInput(StrictSerializer):
    customer = PublicationCustomerInput()
    campaign = PublicationCampaignInput(required=False, allow_null=True)
    voucher = StrictCharField(required=False, allow_null=True, max_length=255)
    source_id = StrictCharField(required=False, allow_null=True, max_length=255)
    channel = StrictCharField(required=False, allow_null=True, max_length=100)
    metadata = MetadataField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("campaign")) == bool(attrs.get("voucher")):
            raise serializers.ValidationError({"campaign": ["give either campaign or voucher (exactly one)"]})
        customer = attrs["customer"]
        if not customer.get("id") and not customer.get("source_id"):
            raise serializers.ValidationError({"customer": ["needs an id or a source_id"]})
        return attrs
