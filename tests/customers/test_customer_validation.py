"""The shared customer checks: their cheap first tests never change a verdict or an error."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from customers.validation import check_email, check_metadata, check_phone


def django_accepts(email: str) -> bool:
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


def accepts(check, value) -> bool:
    try:
        check(value)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    "email",
    [
        "ada@example.com",
        "Ada.Lovelace+tag@mail.example.co.uk",
        "o'brien@example.ie",
        "x@a-b.example",
        "user@localhost",  # Django's allowlist
        "user@[127.0.0.1]",  # address literal
        '"quoted local"@example.com',
        "zo\u00eb@example.com",  # non-ASCII local part
        "\u212a@example.com",  # KELVIN SIGN: matches [A-Z] only case-insensitively
        "user@b\u00fccher.example",  # internationalised domain
        "user@example.c0m",  # digits in the top-level domain
        "user@example.xn--p1ai",  # punycode top-level domain
        "user@-example.com",
        "user@example-.com",
        "a..b@example.com",
        ".a@example.com",
        "user@example.com\n",
        "user@example",
        "user@@example.com",
        "user@" + "a" * 64 + ".com",
        "@example.com",
        "",
    ],
)
def test_an_email_is_accepted_exactly_when_djangos_validator_accepts_it(email):
    assert accepts(check_email, email) == django_accepts(email)


@pytest.mark.parametrize(
    ("phone", "valid"),
    [
        ("+48600100200", True),
        ("12345", True),
        ("1234", False),
        ("(415) 555-0100", True),
        ("+1 (415) 555.0100", True),
        ("12345\n", True),  # PHONE_PATTERN's `$` has always let one trailing newline through
        ("+" + "1" * 31, True),
        ("+" + "1" * 32, False),
        ("(((((", False),
        ("call me", False),
        ("+", False),
    ],
)
def test_a_phone_needs_digits_and_the_phone_characters(phone, valid):
    assert accepts(check_phone, phone) == valid


def metadata_error(value) -> str | None:
    try:
        check_metadata(value)
    except ValueError as error:
        return str(error)
    return None


def test_metadata_at_the_byte_limit_is_accepted_and_one_byte_more_is_rejected_with_its_size():
    limit = settings.METADATA_MAX_BYTES
    overhead = len(json.dumps({"k": ""}, separators=(",", ":")))

    assert metadata_error({"k": "x" * (limit - overhead)}) is None
    assert metadata_error({"k": "x" * (limit - overhead + 1)}) == (
        f"must be at most {limit} bytes as JSON, got {limit + 1}"
    )


def test_metadata_size_counts_escaped_characters_as_json_writes_them():
    limit = settings.METADATA_MAX_BYTES
    overhead = len('{"k":""}')
    # An astral character is written as two \uXXXX escapes: 12 bytes.
    emoji_count = (limit - overhead) // 12 + 1

    assert metadata_error({"k": "\U0001f600" * emoji_count}) == (
        f"must be at most {limit} bytes as JSON, got {overhead + 12 * emoji_count}"
    )
    assert metadata_error({"k": "\U0001f600" * (emoji_count - 1)}) is None


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ({"club_level": "Gold", "orders": 12, "vip": True, "score": 1.5, "note": None}, None),
        ({"big": 10**30}, None),
        ({"a": {"b": {"c": {"d": {"e": 1}}}}}, None),
        ({"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}, "must not nest deeper than 5 levels"),
        ({"a": [[[[[1]]]]]}, "must not nest deeper than 5 levels"),
        (["a"], "must be a JSON object"),
        ("a", "must be a JSON object"),
    ],
)
def test_metadata_is_an_object_of_limited_depth(metadata, error):
    assert metadata_error(metadata) == error
