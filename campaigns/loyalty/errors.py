from __future__ import annotations


class LoyaltyRefused(Exception):
    """A business rule refused the change: Voucherify's error `key` with `status_code`."""

    def __init__(self, key: str, details: str, *, status_code: int = 400) -> None:
        super().__init__(details)
        self.key = key
        self.details = details
        self.status_code = status_code
