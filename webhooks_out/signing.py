"""Both webhook signatures, over the exact bytes sent.

- Voucherify's `x-voucherify-signature`: lower-case hex HMAC-SHA256 of the body, keyed with the
  endpoint's secret string as it is shown to the user.
- Standard Webhooks (standardwebhooks.com): `webhook-id`, `webhook-timestamp` (Unix seconds) and
  `webhook-signature` = `v1,` + base64 HMAC-SHA256 of `"{id}.{timestamp}.{body}"`, keyed with the
  base64-decoded part of the `whsec_…` secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _standard_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def voucherify_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()).decode()


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "x-voucherify-signature": voucherify_signature(secret, body),
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, message_id, timestamp, body),
    }


def verify_voucherify(secret: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(voucherify_signature(secret, body), signature or "")


def verify_standard(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """The receiver's check: any `v1,` signature in the space-separated header matches."""
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        expected = standard_signature(secret, lowered["webhook-id"], int(lowered["webhook-timestamp"]), body)
    except (KeyError, ValueError):
        return False
    return any(
        hmac.compare_digest(expected, candidate) for candidate in lowered.get("webhook-signature", "").split()
    )
