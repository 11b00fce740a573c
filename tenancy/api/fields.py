"""Strict serializer fields shared by every API: the official SDK is strict about types, and so are we.

DRF's own fields coerce (`"10"` → 10, `1` → True, 10.0 → 10); these refuse instead, naming the field.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from customers.validation import check_metadata


class StrictCharField(serializers.CharField):
    """A string, never a number turned into one."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("must be a string")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An int, never a float (not even 10.0), a numeric string or a boolean."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError("must be an integer")
        return super().to_internal_value(data)


class StrictNumberField(serializers.FloatField):
    """An int or a float (percentages), never a string or a boolean; ints stay ints."""

    def to_internal_value(self, data: Any) -> int | float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise serializers.ValidationError("must be a number")
        super().to_internal_value(data)
        return data


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            raise serializers.ValidationError("must be a boolean")
        return data


class StrictChoiceField(serializers.ChoiceField):
    """Case-sensitive enum of strings (DRF would accept 1 for "1")."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or data not in self.choices:
            raise serializers.ValidationError(f"must be one of {', '.join(self.choices)}")
        return data


class StrictDictField(serializers.JSONField):
    def to_internal_value(self, data: Any) -> Any:
        if data is not None and not isinstance(data, dict):
            raise serializers.ValidationError("must be an object")
        return super().to_internal_value(data)


class StrictListField(serializers.JSONField):
    def to_internal_value(self, data: Any) -> Any:
        if data is not None and not isinstance(data, list):
            raise serializers.ValidationError("must be an array")
        return super().to_internal_value(data)


def _metadata(value: Any) -> Any:
    try:
        return check_metadata(value)
    except ValueError as error:
        raise serializers.ValidationError(str(error)) from None


class MetadataField(StrictDictField):
    """A JSON object of bounded size and depth."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(validators=[_metadata], **kwargs)


class RejectUnknownFieldsMixin:
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["is not allowed"] for name in unknown})
        return super().to_internal_value(data)


class StrictSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A JSON object with only the declared fields."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["must be an object"]})
        return super().to_internal_value(data)


def validated(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> Any:
    """The serializer's validated data; invalid input raises, and the API answers with Voucherify's
    error body naming every field at fault."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
