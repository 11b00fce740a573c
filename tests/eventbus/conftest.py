"""Fixtures for the event bus: test handlers registered with the real registry, and polling."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from eventbus.models import DomainEvent, HandlerRun
from eventbus.registry import handles, unregister

TEST_EVENT = "test.thing.happened"
HANDLER_PREFIX = "tests.eventbus."


class Handlers:
    """Handlers registered with `eventbus.registry.handles`, each logging its calls in call order.

    Calls are recorded from whichever thread runs the handler (the test's or a worker's), before the
    handler's effect, so a failing call is counted too.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []  # (handler name, event public id)
        self.batches: list[tuple[str, list[str]]] = []  # (handler name, event public ids) per batch call
        self._names: list[str] = []
        self._lock = threading.Lock()

    def add(
        self,
        short_name: str,
        event_types: str | list[str] = TEST_EVENT,
        *,
        order: int = 50,
        effect: Callable[[DomainEvent], Any] | None = None,
        batch_effect: Callable[[list[DomainEvent]], Any] | None = None,
    ) -> str:
        """Register a handler; with `batch_effect`, also its batch variant, which logs its call in
        `batches` and then applies `batch_effect` to the whole batch."""
        name = HANDLER_PREFIX + short_name

        def handler(event: DomainEvent) -> None:
            with self._lock:
                self.calls.append((name, event.public_id))
            if effect is not None:
                effect(event)

        def many(events: list[DomainEvent]) -> None:
            with self._lock:
                self.batches.append((name, [event.public_id for event in events]))
            batch_effect(events)

        handles(event_types, order=order, name=name, many=many if batch_effect else None)(handler)
        self._names.append(name)
        return name

    def names_called(self) -> list[str]:
        return [name.removeprefix(HANDLER_PREFIX) for name, _ in self.calls]

    def count(self, short_name: str) -> int:
        return sum(1 for name, _ in self.calls if name == HANDLER_PREFIX + short_name)

    def events_seen(self) -> list[str]:
        return [public_id for _, public_id in self.calls]

    def unregister_all(self) -> None:
        for name in self._names:
            unregister(name)


class Breakable:
    """A handler effect that raises `error` until `fix()` is called."""

    def __init__(self, error: Exception) -> None:
        self.error: Exception | None = error

    def __call__(self, event: DomainEvent) -> None:
        if self.error is not None:
            raise self.error

    def fix(self) -> None:
        self.error = None


@pytest.fixture
def handlers():
    registered = Handlers()
    yield registered
    registered.unregister_all()


def runs_of(event: DomainEvent) -> dict[str, tuple[str, int, str]]:
    """This test's handler runs of `event`: short handler name -> (status, attempts, last error)."""
    return {
        run.handler.removeprefix(HANDLER_PREFIX): (run.status, run.attempts, run.last_error)
        for run in HandlerRun.objects.for_project(event.project).filter(
            event=event, handler__startswith=HANDLER_PREFIX
        )
    }


def wait_until(predicate: Callable[[], Any], *, timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"Timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
