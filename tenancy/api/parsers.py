"""The API's JSON parser: DRF's, refusing the null character wherever it appears in the body.

PostgreSQL stores neither `\\u0000` in text nor in jsonb, so a metadata value or key carrying one
would fail at the INSERT (a 500) or, in a bulk import, only when the worker applies the rows. DRF's
string fields already refuse it; this catches it everywhere else, at the request, naming the place.
"""

from __future__ import annotations

import codecs
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

# JSON can carry a null character only as this escape: a raw one inside a string is invalid JSON.
NULL_ESCAPE = "\\u0000"


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None
        # The scan is one pass over the text; the walk runs only when the escape is there (it may
        # also be an escaped backslash followed by "u0000", which is fine).
        if NULL_ESCAPE in text:
            path = null_character_path(data)
            if path is not None:
                raise ParseError(f"Property {path or '(body)'}: Null characters are not allowed.")
        return data


def null_character_path(value: Any, path: str = "") -> str | None:
    """Where the first null character is (`.metadata.note`, `[3].name`), or None when there is none."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, inner in value.items():
            if "\x00" in key:
                return path
            found = null_character_path(inner, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found = null_character_path(inner, f"{path}[{index}]")
            if found is not None:
                return found
    return None
