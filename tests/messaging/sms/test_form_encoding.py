"""The SMS body's values are encoded by a table, not by `urllib.parse`: the bytes must be the same."""

from __future__ import annotations

import random
from urllib.parse import quote_plus, urlencode

import pytest

from messaging.channels.sms import form_encoded

TRICKY = [
    "",
    "+49 151 1234567",
    "Hi Zoë, your code is AB-12_c.d~e! 100% off & more = yes?",
    "a+b/c;d:e@f,g$h#i[j]k'l\"m<n>o{p}q|r\\s^t`u",
    "tabs\tand\nnew\r\nlines",
    "€ 😀 日本語 ﬁ",
    " leading and trailing ",
]


@pytest.mark.parametrize("text", TRICKY)
def test_a_value_is_encoded_as_quote_plus_encodes_it(text):
    assert form_encoded(text) == quote_plus(text)


def test_every_code_point_range_encodes_as_urlencode_does():
    generator = random.Random(6)
    alphabet = [chr(point) for point in range(0x20, 0x3000) if not 0xD800 <= point <= 0xDFFF]
    alphabet += [chr(point) for point in (0, 1, 0x7F, 0x1F600, 0x10FFFF)]
    for _ in range(500):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randrange(0, 40)))
        sender = "".join(generator.choice(alphabet) for _ in range(8))
        expected = urlencode({"To": "+15550001111", "From": sender, "Body": text})
        assert f"To=%2B15550001111&From={form_encoded(sender)}&Body={form_encoded(text)}" == expected
