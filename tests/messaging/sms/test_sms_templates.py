"""Saving an SMS template: variables checked by the one renderer, length and segments reported, more
than ten segments refused, more than three warned about."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from messaging.models import MessageTemplate
from messaging.services import message_template_create
from tests.support.messaging import rows_unchanged

pytestmark = pytest.mark.django_db


def sms(project, body, **content):
    return message_template_create(project=project, channel="sms", content={"body": body, **content})


def test_a_saved_sms_template_reports_its_length_and_segments(project):
    template = sms(project, "Hi {{customer.first_name | there}}, code {{voucher.code}}")

    # Variables count as their fallback, or as a 12-character sample: "Hi there, code XXXXXXXXXXXX".
    assert template.content["length"] == {
        "encoding": "GSM-7",
        "characters": 27,
        "units": 27,
        "segments": 1,
        "per_segment": 160,
    }
    assert template.content["warnings"] == ["Variables without a fallback: voucher.code."]


def test_an_emoji_makes_the_template_ucs2(project):
    template = sms(project, "🎉 " + "a" * 70)

    assert template.content["length"]["encoding"] == "UCS-2"
    assert template.content["length"]["segments"] == 2


def test_more_than_three_segments_is_a_lint_warning(project):
    template = sms(project, "a" * 500)

    assert template.content["length"]["segments"] == 4
    assert template.content["warnings"] == [
        "The SMS is 4 segments (GSM-7); more than 3 costs more and may arrive out of order."
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("Hi {{customer.password}}", "Unknown variable {{customer.password}}."),
        ("Hi {{customer.__class__}}", "Unknown variable {{customer.__class__}}."),
        ("a" * 1531, "The SMS would be 11 segments (GSM-7); at most 10 are allowed."),
        ("ж" * 671, "The SMS would be 11 segments (UCS-2); at most 10 are allowed."),
        ("   ", "The SMS text is required."),
    ],
)
def test_bad_templates_are_refused_and_nothing_is_saved(project, body, problem):
    with rows_unchanged(MessageTemplate.objects.for_project(project)):
        with pytest.raises(ValidationError) as refused:
            sms(project, body)

    assert refused.value.message_dict["body"] == [problem]


def test_unknown_settings_are_refused(project):
    with pytest.raises(ValidationError) as refused:
        sms(project, "Hi", sender="+1555")

    assert refused.value.message_dict == {"content": ["Unknown settings: sender."]}
