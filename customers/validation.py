"""Plain validators shared by the customer serializer and the bulk import's fast path."""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# National formats may open with an area code in brackets: "(415) 555-0100".
PHONE_PATTERN = re.compile(r"^\+?[0-9(][0-9 ()\-.]{3,30}$")


def check_email(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError("must be a valid email address") from None
    return value


def check_phone(value: str) -> str:
    if not PHONE_PATTERN.match(value) or sum(ch.isdigit() for ch in value) < 5:
        raise ValueError("must be a phone number of digits, optionally starting with +")
    return value


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def check_metadata(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    if _depth(value) > settings.METADATA_MAX_DEPTH:
        raise ValueError(f"must not nest deeper than {settings.METADATA_MAX_DEPTH} levels")
    size = len(json.dumps(value, separators=(",", ":")).encode())
    if size > settings.METADATA_MAX_BYTES:
        raise ValueError(f"must be at most {settings.METADATA_MAX_BYTES} bytes as JSON, got {size}")
    return value
