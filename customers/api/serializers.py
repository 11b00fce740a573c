from __future__ import annotations

from typing import Any

from rest_framework import serializers

from customers.validation import check_email, check_metadata, check_phone
from tenancy.api.fields import RejectUnknownFieldsMixin, StrictCharField


def _as_drf(check):
    def validator(value: Any) -> Any:
        try:
            return check(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None

    return validator


class AddressInput(RejectUnknownFieldsMixin, serializers.Serializer):
    city = StrictCharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    state = StrictCharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    line_1 = StrictCharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    line_2 = StrictCharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    country = StrictCharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    postal_code = StrictCharField(max_length=32, required=False, allow_null=True, allow_blank=True)


class CustomerUpdateInput(RejectUnknownFieldsMixin, serializers.Serializer):
    name = StrictCharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    description = StrictCharField(max_length=10_000, required=False, allow_null=True, allow_blank=True)
    email = StrictCharField(
        max_length=254, required=False, allow_null=True, validators=[_as_drf(check_email)]
    )
    phone = StrictCharField(max_length=32, required=False, allow_null=True, validators=[_as_drf(check_phone)])
    birthdate = serializers.DateField(required=False, allow_null=True)
    birthday = serializers.DateField(
        required=False, allow_null=True, help_text="Deprecated alias of birthdate."
    )
    address = AddressInput(required=False, allow_null=True)
    metadata = serializers.JSONField(required=False, allow_null=True, validators=[_as_drf(check_metadata)])

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "birthday" in attrs:
            attrs.setdefault("birthdate", attrs.pop("birthday"))
            attrs.pop("birthday", None)
        return attrs


class CustomerCreateInput(CustomerUpdateInput):
    id = StrictCharField(max_length=40, required=False, allow_null=True)
    source_id = StrictCharField(max_length=255, required=False, allow_null=True)


class CustomerOutput(serializers.Serializer):
    """Documents the customer object for the OpenAPI schema; responses are built by `customer_object`."""

    id = serializers.CharField()
    source_id = serializers.CharField(allow_null=True)
    object = serializers.ChoiceField(choices=["customer"])
    name = serializers.CharField(allow_null=True)
    description = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    phone = serializers.CharField(allow_null=True)
    birthdate = serializers.DateField(allow_null=True)
    address = AddressInput()
    summary = serializers.DictField()
    loyalty = serializers.DictField()
    referrals = serializers.DictField()
    metadata = serializers.DictField()
    system_metadata = serializers.DictField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(allow_null=True)
    assets = serializers.DictField()


class CustomerListOutput(serializers.Serializer):
    object = serializers.ChoiceField(choices=["list"])
    data_ref = serializers.ChoiceField(choices=["customers"])
    customers = CustomerOutput(many=True)
    total = serializers.IntegerField()
    has_more = serializers.BooleanField()


class BulkImportOutput(serializers.Serializer):
    async_action_id = serializers.CharField()
