"""Both signatures, checked as a receiver would check them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from webhooks_out.envelope import encode, iso_millis
from webhooks_out.signing import (
    new_secret,
    signature_headers,
    verify_standard,
    verify_voucherify,
    voucherify_signature,
)


def test_the_voucherify_signature_matches_the_documented_example():
    # voucherify-api.md section 14: HMAC("secretKey", '{"a":1}').
    assert voucherify_signature("secretKey", encode({"a": 1})) == (
        "a17d2ac229d1ebbb5f10e839c7985c4818e5986eab297f7e5979196d4d7d3ed2"
    )


def test_the_body_is_compact_json_keeping_non_ascii_like_json_stringify():
    assert encode({"name": "Zoë", "list": [1, 2]}) == '{"name":"Zoë","list":[1,2]}'.encode()
    assert encode("plain text") == b"plain text"


def test_standard_webhooks_headers_verify_with_the_decoded_secret_and_fail_when_tampered():
    secret = new_secret()
    body = b'{"id":"msg_1"}'
    headers = signature_headers(secret, "msg_1", 1_700_000_000, body)

    # Computed independently, the way the Standard Webhooks reference libraries do.
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, b"msg_1.1700000000." + body, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert (headers["webhook-id"], headers["webhook-timestamp"]) == ("msg_1", "1700000000")
    assert verify_standard(secret, headers, body)
    assert verify_voucherify(secret, body, headers["x-voucherify-signature"])

    assert not verify_standard(secret, headers, body + b" ")
    assert not verify_standard(new_secret(), headers, body)
    assert not verify_standard(secret, {**headers, "webhook-timestamp": "1700000001"}, body)
    assert not verify_voucherify(secret, body, "")


def test_timestamps_in_the_envelope_have_milliseconds_and_a_z():
    assert iso_millis(datetime(2024, 1, 1, 11, 11, 11, 111999, tzinfo=UTC)) == "2024-01-01T11:11:11.111Z"
