"""The channel plug-in interface: every channel (webhook now; email, SMS, integrations later) is one
module with a `Channel` subclass registered in `messaging.channels.CHANNELS`.

Delivery calls, per batch: `prepare` (load what the batch needs in a few queries), then per message
`skip_reason`, `render` and `send`, and `close` at the end. `send` answers one of three outcomes and
never raises for a provider's answer. Retries follow `retry_offsets`, measured from the first attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from messaging.models import Message, MessageTemplate
    from tenancy.models import Project


@dataclass(frozen=True)
class Sent:
    provider_id: str = ""
    status_code: int | None = None


@dataclass(frozen=True)
class TransientFailure:
    """Worth another attempt later: a timeout, a refused connection, a non-2xx answer."""

    error: str
    status_code: int | None = None


@dataclass(frozen=True)
class PermanentFailure:
    """No retry can help: a forbidden target, a deleted endpoint, a template that cannot render."""

    error: str
    status_code: int | None = None


Outcome = Sent | TransientFailure | PermanentFailure


class RenderFailed(Exception):
    """`render` could not build the message; delivery records it as a permanent failure."""


@dataclass
class Batch:
    """What a channel loaded for one batch of messages, plus anything it keeps open across it."""

    project: Project
    templates: dict[int, MessageTemplate]
    extra: dict[str, Any] = field(default_factory=dict)


def exponential_offsets(first: timedelta, count: int) -> tuple[timedelta, ...]:
    return tuple(first * (2**index) for index in range(count))


class Channel:
    name: str = ""
    # Seconds one provider call may take; a message `sending` for twice this long is reclaimed.
    timeout: float = 10.0
    # Retries happen at these offsets after the first attempt; after the last, the message fails.
    retry_offsets: tuple[timedelta, ...] = exponential_offsets(timedelta(minutes=1), 7)
    # Whether a message failing for good pauses its stream (a broken endpoint fails every message;
    # one bad mailbox does not).
    final_failure_pauses_stream: bool = False

    @property
    def task_name(self) -> str:
        return f"messaging.tasks.deliver_{self.name}"

    def validate_content(self, *, project: Project, content: dict[str, Any]) -> dict[str, Any]:
        """Check a template design at save time; return it normalised or raise `TemplateError`."""
        raise NotImplementedError

    def prepare(self, *, project: Project, messages: Sequence[Message]) -> Batch:
        templates = {message.template_id: message.template for message in messages}
        return Batch(project=project, templates=templates)

    def skip_reason(self, message: Message, batch: Batch) -> str | None:
        """Why this message must not go at all (no address, unsubscribed); None to send it."""
        return None

    def render(self, message: Message, batch: Batch) -> Any:
        raise NotImplementedError

    def send(self, rendered: Any, batch: Batch) -> Outcome:
        raise NotImplementedError

    def close(self, batch: Batch) -> None:
        """Release what `prepare` opened (an SMTP connection, say)."""

    def wants_on_sent(self, batch: Batch) -> bool:
        """Whether the batch's successes need `on_sent` (kept cheap: asked after every success)."""
        return False

    def on_sent(self, *, batch: Batch) -> None:
        """React, inside the outcome transaction, to the batch's successes (clear a failing flag)."""

    def on_final_failures(self, *, batch: Batch, failures: list[tuple[Message, str]]) -> None:
        """React, inside the outcome transaction, to messages that failed for good."""

    def next_attempt_at(self, *, first_attempt_at: datetime, attempted_at: datetime) -> datetime | None:
        """The first scheduled retry after `attempted_at`, or None when the schedule is over.

        Counted in time from the first attempt, not in attempts, so a retry that ran late does not
        push the rest of the schedule back, and a replay starts a fresh schedule.
        """
        elapsed = attempted_at - first_attempt_at
        for offset in self.retry_offsets:
            if offset > elapsed:
                return first_attempt_at + offset
        return None
