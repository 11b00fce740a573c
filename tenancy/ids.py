"""Public identifiers: a type prefix and random hex, never the database's integer key."""

import secrets


def new_public_id(prefix: str, length: int = 20) -> str:
    return f"{prefix}_{secrets.token_hex(length // 2)}"


def new_request_id() -> str:
    """Voucherify's request id format: `v-` and 18 hex characters."""
    return "v-" + secrets.token_hex(9)
