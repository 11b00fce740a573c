"""What caused an event: an API request, a dashboard user, or a distribution's own action.

The cause travels with the request (a context variable set by the API base view and the dashboard
middleware) so that services need no extra parameter; background code that produces events passes
its cause explicitly with `use_cause`.
"""

from __future__ import annotations

import contextvars
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cause:
    channel: str  # API | USER_PORTAL | INTERNAL
    request_id: str | None = None
    api_key: dict[str, str] | None = None
    user: dict[str, Any] | None = None
    distribution_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_request(cls, *, request_id: str, channel: str, api_key: Any = None, user: Any = None) -> Cause:
        return cls(
            channel=channel,
            request_id=request_id,
            api_key={"name": api_key.name, "app_id": api_key.app_id} if api_key is not None else None,
            user={"id": user.pk, "email": user.email} if user is not None else None,
        )

    @classmethod
    def distribution(cls, distribution_public_id: str) -> Cause:
        return cls(channel="INTERNAL", distribution_id=distribution_public_id)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cause:
        """The inverse of `as_dict`, for causes stored with deferred work."""
        return cls(**{"channel": "INTERNAL", **data}) if data else INTERNAL

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, {})}


INTERNAL = Cause(channel="INTERNAL")
_current: contextvars.ContextVar[Cause] = contextvars.ContextVar("event_cause", default=INTERNAL)


def current_cause() -> Cause:
    return _current.get()


def use_cause(cause: Cause) -> contextvars.Token:
    """Set the cause for what follows; reset with `token.var.reset(token)`."""
    return _current.set(cause)
