"""Dashboard forms for project settings, API keys and members."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django import forms

from tenancy.models import Project, Role


@cache
def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class ProjectSettingsForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        choices=timezone_choices,
        help_text="Schedules and time frames of automatic distributions use this time zone.",
    )

    class Meta:
        model = Project
        fields = ["name", "timezone", "company_name", "company_address"]
        labels = {"company_name": "Company name", "company_address": "Company address"}
        help_texts = {
            "company_address": "In marketing emails' footers; needed to ask for a higher message limit.",
        }
        widgets = {"company_address": forms.Textarea(attrs={"rows": 3})}


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="Where the key is used, e.g. “Shop backend”.",
        widget=forms.TextInput(attrs={"placeholder": "Shop backend", "autocomplete": "off"}),
    )


def role_choices(*, can_grant_owner: bool) -> list[tuple[str, str]]:
    return [(value, label) for value, label in Role.choices if can_grant_owner or value != Role.OWNER]


class MemberAddForm(forms.Form):
    email = forms.EmailField(
        widget=forms.EmailInput(attrs={"placeholder": "name@company.com", "autocomplete": "off"})
    )
    role = forms.ChoiceField(initial=Role.MARKETER)

    def __init__(self, *args, project: Project, can_grant_owner: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["role"].choices = role_choices(can_grant_owner=can_grant_owner)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if self.project.memberships.filter(user__username=email).exists():
            raise forms.ValidationError(f"{email} is already a member of this project.")
        return email


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
