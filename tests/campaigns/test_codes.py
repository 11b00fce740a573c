"""Code configs and the set-based generator."""

from __future__ import annotations

import re

import pytest

from campaigns import codes
from campaigns.models import Voucher
from tests.campaigns.factories import make_campaign

pytestmark = pytest.mark.django_db


def _codes(project):
    return list(Voucher.objects.for_project(project).values_list("code", flat=True))


@pytest.mark.parametrize(
    ("code_config", "regex"),
    [
        ({"pattern": "AB-####-CD"}, r"AB-[0-9a-zA-Z]{4}-CD"),
        ({"length": 6, "charset": "numbers"}, r"[0-9]{6}"),
        ({"length": 5, "charset": "alphabetic"}, r"[a-zA-Z]{5}"),
        ({"length": 5, "charset": "lowercase"}, r"[a-z]{5}"),
        ({"length": 5, "charset": "uppercase"}, r"[A-Z]{5}"),
        ({"length": 4, "charset": "XYZ", "prefix": "P-", "postfix": "-Q"}, r"P-[XYZ]{4}-Q"),
        ({"pattern": "##-##", "charset": "01", "prefix": "pre"}, r"pre[01]{2}-[01]{2}"),
        ({}, r"[0-9a-zA-Z]{8}"),
    ],
)
def test_generated_codes_follow_the_code_config(project, code_config, regex):
    make_campaign(
        project,
        codes_count=12,
        voucher={
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "PERCENT", "percent_off": 5},
            "code_config": code_config,
        },
    )

    generated = _codes(project)

    assert len(generated) == len(set(generated)) == 12
    assert all(re.fullmatch(regex, code) for code in generated), generated


def test_generation_fills_a_small_code_space_completely_and_uniquely(project):
    # 2 characters ^ 6 positions = 64 codes: nearly every round collides, and it still gets all 64.
    make_campaign(
        project,
        codes_count=64,
        voucher={
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "PERCENT", "percent_off": 5},
            "code_config": {"length": 6, "charset": "ab"},
        },
    )

    generated = _codes(project)

    assert len(generated) == len(set(generated)) == 64


def test_codes_are_unique_across_the_projects_campaigns(project):
    template = {
        "type": "DISCOUNT_VOUCHER",
        "discount": {"type": "PERCENT", "percent_off": 5},
        "code_config": {"length": 3, "charset": "ab"},
    }
    first = make_campaign(project, name="A", codes_count=4, voucher=template)
    second = make_campaign(project, name="B", codes_count=4, voucher=template)

    generated = _codes(project)

    assert len(generated) == len(set(generated)) == 8
    assert first.vouchers_count == second.vouchers_count == 4


def test_sequences_are_distinct_per_campaign(project):
    campaign = make_campaign(project, codes_count=30)

    sequences = list(
        Voucher.objects.for_project(project).filter(campaign=campaign).values_list("sequence", flat=True)
    )

    assert len(set(sequences)) == 30


def test_other_projects_codes_do_not_collide(project, other_project):
    template = {
        "type": "DISCOUNT_VOUCHER",
        "discount": {"type": "PERCENT", "percent_off": 5},
        "code_config": {"length": 2, "charset": "ab"},
    }
    make_campaign(project, codes_count=4, voucher=template)
    make_campaign(other_project, codes_count=4, voucher=template)

    assert sorted(_codes(project)) == sorted(_codes(other_project)) == ["aa", "ab", "ba", "bb"]


@pytest.mark.parametrize(
    ("raw", "count", "message"),
    [
        (
            {"length": 2, "charset": "numbers"},
            101,
            "code_config allows 100 distinct codes (10 characters ^ 2 positions); 101 were requested.",
        ),
        ({"pattern": "FIXED"}, 1, "code_config.pattern must contain at least one '#'."),
        ({"length": 0}, 1, "code_config.length must be a positive integer."),
    ],
)
def test_invalid_code_configs(raw, count, message):
    with pytest.raises(codes.InvalidCodeConfig, match=re.escape(message)):
        codes.check_capacity(codes.parse_code_config(raw), count)
