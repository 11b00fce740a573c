"""SMS length and segment counting, as a phone network counts them.

A text that fits the GSM-7 alphabet is sent 7 bits a character: 160 characters in one message, 153
per part once it is split (the concatenation header takes the rest). The extension table (`^ { } [ ]
~ \\ | €` and form feed) is reached through an escape, so each of those characters counts twice, and
a part never ends between the escape and its character. Any other character (an emoji, most accented
letters) switches the whole text to UCS-2: 70 characters in one message, 67 per part, where a
character outside the Basic Multilingual Plane (most emoji) takes two UTF-16 units and a part never
splits such a pair.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7 = "GSM-7"
UCS2 = "UCS-2"
SINGLE = {GSM7: 160, UCS2: 70}
CONCATENATED = {GSM7: 153, UCS2: 67}
MAX_SEGMENTS = 10  # a template that would need more is refused
LINT_SEGMENTS = 3  # more than this is worth a warning: each part is billed


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # GSM-7 or UCS-2
    characters: int  # as the user sees them
    units: int  # septets (GSM-7, extension characters counting 2) or UTF-16 units (UCS-2)
    segments: int
    per_segment: int  # the limit that applied: 160/153 or 70/67

    def as_dict(self) -> dict[str, int | str]:
        return {
            "encoding": self.encoding,
            "characters": self.characters,
            "units": self.units,
            "segments": self.segments,
            "per_segment": self.per_segment,
        }


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _unit_widths(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _count_segments(widths: list[int], size: int) -> int:
    """Parts of at most `size` units, never splitting an escape pair or a surrogate pair."""
    segments, used = 1, 0
    for width in widths:
        if used + width > size:
            segments, used = segments + 1, 0
        used += width
    return segments


def sms_length(text: str) -> SmsLength:
    """How long `text` is as an SMS and how many segments it is sent (and billed) as."""
    encoding = GSM7 if is_gsm7(text) else UCS2
    widths = _unit_widths(text, encoding)
    units = sum(widths)
    if units <= SINGLE[encoding]:
        segments, per_segment = (1 if text else 0), SINGLE[encoding]
    else:
        per_segment = CONCATENATED[encoding]
        segments = _count_segments(widths, per_segment)
    return SmsLength(encoding, len(text), units, segments, per_segment)
