"""SMS length and segments, as networks bill them: GSM-7 160/153, UCS-2 70/67, the GSM-7
extension table counting double, and no part splitting an escape or a surrogate pair."""

from __future__ import annotations

import pytest

from messaging.sms import GSM7, UCS2, sms_length

CASES = [
    # text, encoding, units, segments
    ("", GSM7, 0, 0),
    ("Hello", GSM7, 5, 1),
    ("a" * 160, GSM7, 160, 1),
    ("a" * 161, GSM7, 161, 2),
    ("a" * 306, GSM7, 306, 2),
    ("a" * 307, GSM7, 307, 3),
    ("€" * 80, GSM7, 160, 1),  # extension characters count twice
    ("€" * 81, GSM7, 162, 2),
    ("a" * 152 + "€", GSM7, 154, 1),
    ("a" * 152 + "€" + "a" * 152, GSM7, 306, 3),  # 306 fits two parts, but the escape pair is not split
    ("{[~]}|^\\", GSM7, 16, 1),
    ("Ça coûte 5 £ à Zürich", UCS2, 21, 1),  # û is not GSM-7: the whole text goes UCS-2
    ("ñÑüÜäÄöÖ èé", GSM7, 11, 1),
    ("é" * 160, GSM7, 160, 1),
    ("ж" * 70, UCS2, 70, 1),
    ("ж" * 71, UCS2, 71, 2),
    ("ж" * 134, UCS2, 134, 2),
    ("ж" * 135, UCS2, 135, 3),
    ("😀" * 35, UCS2, 70, 1),  # outside the BMP: two UTF-16 units each
    ("😀" * 36, UCS2, 72, 2),
    ("a" * 66 + "😀" + "a" * 66, UCS2, 134, 3),  # 134 fits two parts, but a surrogate pair is not split
    ("a" * 1530, GSM7, 1530, 10),
]


@pytest.mark.parametrize(("text", "encoding", "units", "segments"), CASES)
def test_length_and_segments(text, encoding, units, segments):
    length = sms_length(text)

    assert (length.encoding, length.units, length.segments) == (encoding, units, segments)
    assert length.characters == len(text)


def test_a_split_text_reports_the_concatenated_part_size():
    assert sms_length("a" * 200).per_segment == 153
    assert sms_length("ж" * 100).per_segment == 67
    assert sms_length("short").per_segment == 160
