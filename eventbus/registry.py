"""The handler registry: plain functions registered by the apps that react to events.

Handlers of one event run in a fixed order (lower `order` first): segment membership (10), then
distributions (20), then activity and everything else (50), so a distribution's segment condition
sees the membership that the same event produced.

A handler may also offer a batch variant (`many`): the dispatcher hands it every event of a batch
that needs the handler, in one transaction, instead of calling the handler once per event. It must
have the same effects as calling the handler on each event in turn, and may assume nothing about
the events' projects (a batch mixes projects: group by `event.project` before any query).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eventbus.models import DomainEvent

ALL_EVENTS = "*"


@dataclass(frozen=True)
class Handler:
    name: str
    order: int
    event_types: frozenset[str]
    function: Callable[[DomainEvent], None]
    many: Callable[[list[DomainEvent]], None] | None = None

    def run_many(self, events: list[DomainEvent]) -> None:
        """Run the handler on `events` (in the caller's transaction), set-based when it can."""
        if self.many is not None:
            self.many(events)
            return
        for event in events:
            self.function(event)

    def accepts(self, event_type: str) -> bool:
        return ALL_EVENTS in self.event_types or event_type in self.event_types


_handlers: dict[str, Handler] = {}


def handles(
    event_types: Iterable[str] | str,
    *,
    order: int = 50,
    name: str | None = None,
    many: Callable[[list[DomainEvent]], None] | None = None,
):
    """Register the decorated function for `event_types` (or `"*"` for every event), with `many`,
    its batch variant, if it has one."""
    types = frozenset([event_types] if isinstance(event_types, str) else event_types)

    def register(function: Callable[[DomainEvent], None]) -> Callable[[DomainEvent], None]:
        handler_name = name or f"{function.__module__}.{function.__qualname__}"
        _handlers[handler_name] = Handler(handler_name, order, types, function, many)
        return function

    return register


def unregister(name: str) -> None:
    _handlers.pop(name, None)


def handlers_for(event_type: str) -> list[Handler]:
    return sorted((h for h in _handlers.values() if h.accepts(event_type)), key=lambda h: (h.order, h.name))


def handlers_for_any(event_types: Iterable[str]) -> list[Handler]:
    """Every handler of at least one of `event_types`, in the order they run."""
    types = set(event_types)
    return sorted(
        (h for h in _handlers.values() if any(h.accepts(t) for t in types)), key=lambda h: (h.order, h.name)
    )
