"""Dashboard forms: the customer search box and the customer edit form."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms

from customers.models import Customer
from customers.validation import check_email, check_metadata, check_phone


class CustomerSearchForm(forms.Form):
    """Validates the list's query string; the search box itself is written out in the template (htmx)."""

    q = forms.CharField(required=False, max_length=200)


def _sentence(error: Exception) -> str:
    """The shared validators say "must be ..."; the form shows it under the field's label."""
    message = str(error)
    return f"{message[:1].upper()}{message[1:]}."


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


class CustomerForm(forms.Form):
    """The fields the dashboard edits; `fields_for_update()` speaks the customer service's language."""

    name = forms.CharField(max_length=255, required=False)
    email = forms.CharField(max_length=254, required=False, widget=forms.EmailInput)
    phone = forms.CharField(max_length=32, required=False, help_text="Digits, optionally starting with +.")
    birthdate = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    address_line_1 = forms.CharField(max_length=255, required=False, label="Address line 1")
    address_line_2 = forms.CharField(max_length=255, required=False, label="Address line 2")
    address_city = forms.CharField(max_length=255, required=False, label="City")
    address_state = forms.CharField(max_length=255, required=False, label="State")
    address_postal_code = forms.CharField(max_length=32, required=False, label="Postal code")
    address_country = forms.CharField(max_length=255, required=False, label="Country")
    metadata = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
        help_text="A JSON object.",
    )

    @classmethod
    def for_customer(cls, customer: Customer) -> CustomerForm:
        initial = {name: getattr(customer, name) for name in cls.base_fields if name != "metadata"}
        initial["metadata"] = pretty_json(customer.metadata)
        return cls(initial=initial)

    def clean_email(self) -> str | None:
        return self._checked("email", check_email)

    def clean_phone(self) -> str | None:
        return self._checked("phone", check_phone)

    def _checked(self, name: str, check: Callable[[str], str]) -> str | None:
        value = self.cleaned_data[name].strip()
        if not value:
            return None
        try:
            return check(value)
        except ValueError as error:
            raise forms.ValidationError(_sentence(error)) from None

    def clean_metadata(self) -> dict[str, Any]:
        text = self.cleaned_data["metadata"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"Not valid JSON: {error.msg} (line {error.lineno}).") from None
        try:
            return check_metadata(value)
        except ValueError as error:
            raise forms.ValidationError(_sentence(error)) from None

    def fields_for_update(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"].strip(),
            "email": data["email"],
            "phone": data["phone"],
            "birthdate": data["birthdate"],
            "description": data["description"],
            "metadata": data["metadata"],
            "address": {field: data[f"address_{field}"].strip() or None for field in Customer.ADDRESS_FIELDS},
        }
