from __future__ import annotations


class FilterError(ValueError):
    """A filter that cannot be compiled; `field` and `operator` name where, when known."""

    def __init__(self, message: str, *, field: str | None = None, operator: str | None = None) -> None:
        self.field = field
        self.operator = operator
        self.reason = message
        where = " ".join(part for part in (field, operator) if part)
        super().__init__(f"{where}: {message}" if where else message)
