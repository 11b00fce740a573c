"""The wizard's forms: each translates one step's inputs into the fields `distributions.services`
takes. Shape is checked here; what the values name (a campaign of this project, an allowed action)
is the service's to decide, and its problems come back onto these fields."""

from __future__ import annotations

from typing import Any

from django import forms

from campaigns.validation_rules.catalogue import OPERATORS, RULE_NAMES
from distributions import catalogue
from distributions.catalogue import Mode, Trigger
from segments.forms import parse_condition_values

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
AUDIENCE_TYPES = [("customer", "One customer"), ("segment", "A segment")]


class TriggerForm(forms.Form):
    name = forms.CharField(max_length=255, required=False)
    trigger = forms.ChoiceField(
        choices=[(t.key, t.label) for t in catalogue.TRIGGERS], required=False, label="Trigger"
    )

    def __init__(self, *args: Any, trigger: Trigger | None, strict: bool = False, **kwargs: Any) -> None:
        """`strict`: the marketer moves on (Next), so what the step needs must be there; a draft save
        takes whatever is given."""
        super().__init__(*args, **kwargs)
        self.trigger = trigger
        self.strict = strict
        if trigger is None:
            return
        for parameter in trigger.parameters:
            self.fields[parameter.name] = forms.CharField(
                max_length=255, required=False, label=parameter.label
            )
        if trigger.mode == Mode.MANUAL:
            self.fields["audience_type"] = forms.ChoiceField(
                choices=AUDIENCE_TYPES, required=False, label="Send to", widget=forms.RadioSelect
            )
            self.fields["customer"] = forms.CharField(max_length=60, required=False, label="Customer")
            self.fields["segment"] = forms.CharField(max_length=60, required=False, label="Segment")
        else:
            self.fields["live_from"] = forms.DateTimeField(required=False, widget=DATETIME, label="Live from")
            self.fields["live_until"] = forms.DateTimeField(
                required=False, widget=DATETIME, label="Live until"
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.strict:
            return data
        if not (data.get("name") or "").strip():
            self.add_error("name", "Give the distribution a name.")
        if self.trigger is None:
            self.add_error("trigger", "Choose what starts the distribution.")
            return data
        for parameter in self.trigger.required_parameters:
            if not data.get(parameter.name):
                self.add_error(parameter.name, f"Choose a {parameter.label.lower()}.")
        if self.trigger.mode == Mode.MANUAL:
            audience_type = data.get("audience_type")
            if not audience_type:
                self.add_error("audience_type", "Choose who receives it: one customer or a segment.")
            elif not data.get(audience_type):
                self.add_error(audience_type, f"Choose the {audience_type}.")
        return data

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        fields: dict[str, Any] = {"name": (data.get("name") or "").strip()}
        if self.trigger is None:
            return fields
        params = {p.name: data[p.name] for p in self.trigger.parameters if data.get(p.name)}
        fields["trigger"] = {"key": self.trigger.key, "params": params}
        if self.trigger.mode == Mode.MANUAL:
            audience_type = data.get("audience_type")
            fields["audience"] = (
                {"type": audience_type, audience_type: data.get(audience_type) or None}
                if audience_type
                else {}
            )
            if fields["audience"] and fields["audience"][audience_type] is None:
                fields["audience"] = {"type": audience_type}
            fields["live_from"] = fields["live_until"] = None
        else:
            fields["audience"] = {}
            fields["live_from"] = data.get("live_from")
            fields["live_until"] = data.get("live_until")
        return fields


class ActionForm(forms.Form):
    def __init__(self, *args: Any, trigger_key: str, action_key: str, strict: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.strict = strict
        self.actions = catalogue.actions_for(trigger_key)
        self.fields["action"] = forms.ChoiceField(
            choices=[(a.key, a.label) for a in self.actions],
            required=False,
            widget=forms.RadioSelect,
            label="Action",
        )
        chosen = self.data.get("action") if self.is_bound else action_key
        self.action = catalogue.action(chosen or "")
        if self.action is not None:
            for parameter in self.action.parameters:
                self.fields[parameter.name] = forms.CharField(
                    max_length=255, required=False, label=parameter.label
                )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.strict:
            if self.action is None:
                self.add_error("action", "Choose what the distribution does.")
            else:
                for parameter in self.action.required_parameters:
                    if not data.get(parameter.name):
                        self.add_error(parameter.name, f"Choose a {parameter.label.lower()}.")
        return data

    def service_fields(self) -> dict[str, Any]:
        if self.action is None:
            return {}
        data = self.cleaned_data
        params = {p.name: data[p.name] for p in self.action.parameters if data.get(p.name)}
        return {"action": {"key": self.action.key, "params": params}}


class WebhookSettingsForm(forms.Form):
    url = forms.URLField(
        max_length=2000,
        required=False,
        label="Webhook URL",
        assume_scheme="https",
        help_text="Where each message is POSTed, signed with the endpoint's secret.",
    )


RULE_ROWS = 3
RULE_NAME_CHOICES = [("", "—"), *[(name, name) for name in RULE_NAMES]]
OPERATOR_CHOICES = [("", "—"), *[(operator, operator) for operator in OPERATORS]]


class ValidationRuleForm(forms.Form):
    """The inline validation-rule editor: rows of field / operator / value and the logic expression."""

    name = forms.CharField(max_length=255, label="Rule name")
    logic = forms.CharField(
        max_length=2000,
        required=False,
        label="Logic",
        help_text="How the rows combine, by number: 1 and (2 or 3). Empty: all of them.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "rule")
        super().__init__(*args, **kwargs)
        for index in range(1, RULE_ROWS + 1):
            self.fields[f"field_{index}"] = forms.ChoiceField(
                choices=RULE_NAME_CHOICES, required=False, label=f"Rule {index} field"
            )
            self.fields[f"property_{index}"] = forms.CharField(
                max_length=255, required=False, label=f"Rule {index} metadata key"
            )
            self.fields[f"operator_{index}"] = forms.ChoiceField(
                choices=OPERATOR_CHOICES, required=False, label=f"Rule {index} operator"
            )
            self.fields[f"value_{index}"] = forms.CharField(
                max_length=1000, required=False, label=f"Rule {index} value"
            )

    def rows(self) -> list[list[forms.BoundField]]:
        return [
            [self[f"{name}_{index}"] for name in ("field", "property", "operator", "value")]
            for index in range(1, RULE_ROWS + 1)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        rules: dict[str, Any] = {}
        for index in range(1, RULE_ROWS + 1):
            name = data.get(f"field_{index}")
            if not name:
                continue
            operator = data.get(f"operator_{index}")
            if not operator:
                self.add_error(f"operator_{index}", "Pick an operator for this field.")
                continue
            row: dict[str, Any] = {
                "name": name,
                "conditions": {operator: parse_condition_values(data.get(f"value_{index}") or "")},
            }
            if data.get(f"property_{index}"):
                row["property"] = data[f"property_{index}"]
            rules[str(index)] = row
        if not rules and not self.errors:
            self.add_error("field_1", "Add at least one rule.")
        if data.get("logic"):
            rules["logic"] = data["logic"]
        data["rules"] = rules
        return data


class NewCustomerForm(forms.Form):
    name = forms.CharField(max_length=255, required=False, label="Name")
    email = forms.EmailField(max_length=254, required=False, label="Email")
    source_id = forms.CharField(max_length=255, required=False, label="Your id for them (source_id)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "customer")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("email") or data.get("source_id") or self.errors):
            self.add_error("email", "Give at least an email or a source_id.")
        return data
