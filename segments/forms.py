"""The dashboard's segment form: a filter built from field / operator / value rows, or pasted JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django import forms

from segments.filters import FilterError, compile_filter
from segments.filters.campaign_fields import GIFT_METRICS, REDEMPTION_METRICS
from segments.filters.fields import COLUMNS
from segments.filters.words import OPERATOR_WORDS
from segments.models import Segment

FILTER_ROWS = 5
FIELD_CHOICES = [
    ("", "—"),
    *[(path, path) for path in COLUMNS],
    ("metadata.", "metadata.<key>"),
    ("events.", "events.<name>.count"),
    *[(f"summary.redemptions.{m}", f"summary.redemptions.{m}") for m in REDEMPTION_METRICS + GIFT_METRICS],
    ("loyalty_points.", "loyalty_points.campaigns.<program>.points"),
    ("loyalty_tier.", "loyalty_tier.campaigns.<program>.tier"),
]
# Families whose key (a metadata key, an event name, a loyalty program) goes into the path.
PATH_OF_FAMILY = {
    "metadata.": "metadata.{}",
    "events.": "events.{}.count",
    "loyalty_points.": "loyalty_points.campaigns.{}.points",
    "loyalty_tier.": "loyalty_tier.campaigns.{}.tier",
}
OPERATOR_CHOICES = [
    ("", "—"),
    *[(operator, f"{words.replace('{}', 'N')} ({operator})") for operator, words in OPERATOR_WORDS.items()],
]
MAX_CSV_BYTES = 2_000_000


def parse_condition_values(raw: str) -> list[Any]:
    """A condition's typed values: `Gold, Silver` → ["Gold", "Silver"]; numbers and true / false as
    JSON; empty → []. The segment editor and the wizard's validation-rule editor read them alike."""
    values: list[Any] = []
    for part in (piece.strip() for piece in raw.split(",")):
        if not part:
            continue
        try:
            parsed = json.loads(part)
        except ValueError:
            parsed = part
        values.append(parsed if isinstance(parsed, int | float | bool | str) else part)
    return values


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=200)
    type = forms.ChoiceField(choices=Segment.Type.choices, initial=Segment.Type.AUTO_UPDATE)
    junction = forms.ChoiceField(choices=[("and", "all of (and)"), ("or", "any of (or)")], required=False)
    filter_json = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), label="Or the filter as JSON"
    )
    reentry_cooldown_seconds = forms.IntegerField(
        min_value=0, max_value=30 * 24 * 3600, required=False, initial=0
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for index in range(FILTER_ROWS):
            self.fields[f"field_{index}"] = forms.ChoiceField(
                choices=FIELD_CHOICES, required=False, label="Field"
            )
            self.fields[f"key_{index}"] = forms.CharField(
                required=False, max_length=255, label="Key, event or program"
            )
            self.fields[f"operator_{index}"] = forms.ChoiceField(
                choices=OPERATOR_CHOICES, required=False, label="Operator"
            )
            self.fields[f"value_{index}"] = forms.CharField(required=False, max_length=1000, label="Value")

    def rows(self) -> list[list[forms.BoundField]]:
        return [
            [self[f"{name}_{index}"] for name in ("field", "key", "operator", "value")]
            for index in range(FILTER_ROWS)
        ]

    def _filter_from_rows(self, data: dict[str, Any]) -> dict[str, Any] | None:
        group: dict[str, Any] = {"junction": data.get("junction") or "and"}
        for index in range(FILTER_ROWS):
            field, key = data.get(f"field_{index}"), (data.get(f"key_{index}") or "").strip()
            operator = data.get(f"operator_{index}")
            if not field:
                continue
            if not operator:
                self.add_error(f"operator_{index}", "Pick an operator for this field.")
                continue
            path = PATH_OF_FAMILY[field].format(key) if field in PATH_OF_FAMILY else field
            condition = {"conditions": {operator: parse_condition_values(data.get(f"value_{index}") or "")}}
            if path in group:
                group.setdefault("groups", []).append({path: condition})
            else:
                group[path] = condition
        return group if len(group) > 1 else None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("type") == Segment.Type.STATIC:
            data["filter"] = None
            return data
        if data.get("filter_json"):
            try:
                data["filter"] = json.loads(data["filter_json"])
            except ValueError as error:
                self.add_error("filter_json", f"Not JSON: {error}")
                return data
        else:
            data["filter"] = self._filter_from_rows(data)
        if data.get("filter") is None:
            self.add_error(None, "Add at least one condition, or paste a filter as JSON.")
            return data
        try:
            data["compiled"] = compile_filter(data["filter"])
        except FilterError as error:
            self.add_error(None, f"Filter: {error}")
        return data


class StaticCustomersUploadForm(forms.Form):
    file = forms.FileField(help_text="A CSV with a customer id or source_id in the first column.")

    def clean_file(self) -> list[str]:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_CSV_BYTES // 1_000_000} MB.")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text.") from None
        identifiers = [row[0].strip() for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
        if identifiers and identifiers[0].lower() in ("id", "source_id", "customer", "customer_id"):
            identifiers = identifiers[1:]  # a header row
        if not identifiers:
            raise forms.ValidationError("The file lists no customers.")
        return identifiers
