"""Plain validators shared by the customer serializer and the bulk import's fast path.

Each check first tries a cheap test that accepts only values the full check accepts too, and runs
the full check (with its exact error) for everything else: a bulk import checks 10,000 rows per
request, and Django's email validator and a `json.dumps` per metadata object were most of its cost.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# National formats may open with an area code in brackets: "(415) 555-0100".
PHONE_PATTERN = re.compile(r"^\+?[0-9(][0-9 ()\-.]{3,30}$")
# Digits only (5 to 31 of them, after an optional +): always within PHONE_PATTERN and its digit count.
_PLAIN_PHONE = re.compile(r"\+?[0-9]{5,31}")

# A strict subset of what Django's EmailValidator accepts: an ASCII dot-atom local part, ASCII labels
# of at most 63 characters, and a letters-only top-level domain. Anything else goes to Django's check.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}")

# The most bytes json.dumps can write for one character of a string (an astral character as two
# \uXXXX escapes), and for a number that fits 64 bits or any float ("-1.2345678901234567e-308").
_MAX_BYTES_PER_CHAR = 12
_MAX_NUMBER_BYTES = 24


def check_email(value: str) -> str:
    if _PLAIN_EMAIL.fullmatch(value):
        return value
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError("must be a valid email address") from None
    return value


def check_phone(value: str) -> str:
    if _PLAIN_PHONE.fullmatch(value):
        return value
    if not PHONE_PATTERN.match(value) or sum(ch.isdigit() for ch in value) < 5:
        raise ValueError("must be a phone number of digits, optionally starting with +")
    return value


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def _flat_and_surely_small(value: dict[str, Any]) -> bool:
    """True for an object of scalars whose JSON, at its longest, stays within the byte limit."""
    bound = 2
    for key, item in value.items():
        kind = type(item)
        if kind is str:
            bound += _MAX_BYTES_PER_CHAR * len(item) + 2
        elif kind is bool or item is None:
            bound += 5
        elif kind is float or (kind is int and -(2**63) < item < 2**63):
            bound += _MAX_NUMBER_BYTES
        else:
            return False
        # The key may be a non-string only when called outside JSON input; those take the full check.
        if type(key) is not str:
            return False
        bound += _MAX_BYTES_PER_CHAR * len(key) + 4  # quotes, colon, comma
    return bound <= settings.METADATA_MAX_BYTES and settings.METADATA_MAX_DEPTH >= 1


def check_metadata(value: Any) -> dict[str, Any]:
    if type(value) is dict and _flat_and_surely_small(value):
        return value
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    if _depth(value) > settings.METADATA_MAX_DEPTH:
        raise ValueError(f"must not nest deeper than {settings.METADATA_MAX_DEPTH} levels")
    size = len(json.dumps(value, separators=(",", ":")).encode())
    if size > settings.METADATA_MAX_BYTES:
        raise ValueError(f"must be at most {settings.METADATA_MAX_BYTES} bytes as JSON, got {size}")
    return value
