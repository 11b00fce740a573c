"""Dispatching events to their handlers a batch at a time, and the relay that re-dispatches anything
left behind.

A batch costs the same number of statements whatever its size: one claim, one load of the events
(with their projects and customers), one load of their handler runs; then per handler one
transaction running it over every event of the batch that needs it, its success rows inserted in
that transaction; and one statement completing the batch. When a handler raises on the batch, that
transaction rolls back and the handler runs again one event at a time, each in a transaction of its
own, so one event's failure neither fails nor undoes the others' work.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from eventbus.models import DomainEvent, HandlerRun
from eventbus.registry import Handler, handlers_for_any

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_HANDLER_ATTEMPTS = 8
RELAY_BATCH = 1000
FINISHED = (HandlerRun.Status.SUCCEEDED, HandlerRun.Status.ABANDONED)

# Taken only when the lease is free: a second delivery of an event being dispatched claims nothing.
# Up to `fresh` events never dispatched yet are taken along (see `dispatch_batch`); SKIP LOCKED so
# that two workers filling their batches at once do not queue behind each other's claims.
CLAIM_SQL = """
WITH fresh AS (
    SELECT id FROM eventbus_domainevent
    WHERE completed_at IS NULL AND dispatch_attempts = 0 AND lease_until IS NULL
    LIMIT %(fresh)s
    FOR UPDATE SKIP LOCKED
)
UPDATE eventbus_domainevent
SET lease_until = %(lease_until)s, dispatch_attempts = dispatch_attempts + 1
WHERE id IN (SELECT unnest(%(ids)s::bigint[]) UNION SELECT id FROM fresh)
  AND completed_at IS NULL
  AND (lease_until IS NULL OR lease_until < %(now)s)
RETURNING id
"""

RECORD_RUNS_SQL = """
INSERT INTO eventbus_handlerrun (project_id, event_id, handler, status, attempts, last_error, updated_at)
SELECT run.project_id, run.event_id, %(handler)s, run.status, run.attempts, run.last_error, %(now)s
FROM unnest(%(projects)s::bigint[], %(events)s::bigint[], %(statuses)s::text[], %(attempts)s::int[],
            %(errors)s::text[]) AS run(project_id, event_id, status, attempts, last_error)
ON CONFLICT (project_id, event_id, handler) DO UPDATE
SET status = EXCLUDED.status, attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error,
    updated_at = EXCLUDED.updated_at
"""

# A retried event keeps no lease and comes back through the relay at its handler's backoff.
COMPLETE_SQL = """
UPDATE eventbus_domainevent AS event
SET lease_until = NULL,
    completed_at = CASE WHEN outcome.retry_at IS NULL THEN %(now)s END,
    next_dispatch_at = coalesce(outcome.retry_at, event.next_dispatch_at)
FROM unnest(%(ids)s::bigint[], %(retry_at)s::timestamptz[]) AS outcome(id, retry_at)
WHERE event.id = outcome.id
"""


def handler_backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(15 * 2 ** (attempts - 1), 3600))


def dispatch(event_id: int) -> bool:
    """Dispatch one event (see `dispatch_batch`); returns whether it is complete."""
    return dispatch_batch([event_id]) == 1


def dispatch_batch(event_ids: Sequence[int], *, fill_up_to: int = 0) -> int:
    """Run every handler that has not succeeded yet on each of the events whose lease is free;
    returns how many events completed.

    With `fill_up_to`, events never dispatched yet (their own tasks wait in the queue behind this
    one) are claimed along until the batch holds that many: under load, when every request commits
    an event and enqueues a task of one, each task still dispatches a full batch, and the later
    tasks find their events done at the cost of one statement.

    Handlers run in registry order, each over all the events that need it in one transaction with
    their success rows, so a handler that succeeded for an event never runs again for it. A handler
    failing for an event is recorded (FAILED with backoff, ABANDONED after `MAX_HANDLER_ATTEMPTS`)
    and retried later by the relay; the other handlers still run now. Events held by another
    dispatch, completed, or unknown are left alone.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            CLAIM_SQL,
            {
                "ids": list(event_ids),
                "fresh": max(fill_up_to - len(event_ids), 0),
                "now": now,
                "lease_until": now + LEASE,
            },
        )
        claimed = [row[0] for row in cursor.fetchall()]
    if not claimed:
        return 0
    events = list(
        DomainEvent.objects.unscoped()
        .filter(pk__in=claimed)
        .select_related("project", "customer")
        .order_by("pk")
    )
    runs = {
        (event_id, handler): (status, attempts)
        for event_id, handler, status, attempts in HandlerRun.objects.unscoped()
        .filter(event_id__in=claimed)
        .values_list("event_id", "handler", "status", "attempts")
    }
    retry_after: dict[int, timedelta] = {}
    for handler in handlers_for_any({event.type for event in events}):
        pending = []
        for event in events:
            status, attempts = runs.get((event.pk, handler.name), (None, 0))
            if handler.accepts(event.type) and status not in FINISHED:
                pending.append((event, attempts + 1))
        for event_id, backoff in _run_handler(handler, pending).items():
            retry_after[event_id] = min(backoff, retry_after.get(event_id, backoff))
    _complete(events, retry_after)
    return len(events) - len(retry_after)


def _run_handler(handler: Handler, pending: list[tuple[DomainEvent, int]]) -> dict[int, timedelta]:
    """Run `handler` on the (event, attempt number) pairs; returns the backoff of each event to retry."""
    if not pending:
        return {}
    if len(pending) > 1:
        try:
            with transaction.atomic():
                handler.run_many([event for event, _ in pending])
                _record_runs(
                    handler.name, [(event, HandlerRun.Status.SUCCEEDED, n, "") for event, n in pending]
                )
            return {}
        except Exception:
            logger.info(
                "Handler %s failed on a batch of %s events; running it one event at a time",
                handler.name,
                len(pending),
                exc_info=True,
            )
    failures: list[tuple[DomainEvent, str, int, str]] = []
    retry_after: dict[int, timedelta] = {}
    for event, attempts in pending:
        try:
            with transaction.atomic():
                handler.function(event)
                _record_runs(handler.name, [(event, HandlerRun.Status.SUCCEEDED, attempts, "")])
        except Exception as error:
            logger.exception(
                "Handler %s failed on event %s (attempt %s)", handler.name, event.public_id, attempts
            )
            if attempts >= MAX_HANDLER_ATTEMPTS:
                failures.append((event, HandlerRun.Status.ABANDONED, attempts, repr(error)))
            else:
                failures.append((event, HandlerRun.Status.FAILED, attempts, repr(error)))
                retry_after[event.pk] = handler_backoff(attempts)
    _record_runs(handler.name, failures)
    return retry_after


def _record_runs(handler: str, outcomes: list[tuple[DomainEvent, str, int, str]]) -> None:
    """Upsert the handler's runs: (event, status, attempts, last error) each, in one statement."""
    if not outcomes:
        return
    params = {
        "handler": handler,
        "now": timezone.now(),
        "projects": [event.project_id for event, *_ in outcomes],
        "events": [event.pk for event, *_ in outcomes],
        "statuses": [str(status) for _, status, _, _ in outcomes],
        "attempts": [attempts for _, _, attempts, _ in outcomes],
        "errors": [error[:2000] for *_, error in outcomes],
    }
    with connection.cursor() as cursor:
        cursor.execute(RECORD_RUNS_SQL, params)


def _complete(events: list[DomainEvent], retry_after: dict[int, timedelta]) -> None:
    now = timezone.now()
    retry_at: list[datetime | None] = [
        now + retry_after[event.pk] if event.pk in retry_after else None for event in events
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            COMPLETE_SQL, {"now": now, "ids": [event.pk for event in events], "retry_at": retry_at}
        )


def claim_due_events(limit: int = RELAY_BATCH) -> list[int]:
    """Events whose dispatch is overdue, pushed `RELAY_GRACE` into the future so one sweep claims each."""
    from eventbus.services import RELAY_GRACE

    now = timezone.now()
    with transaction.atomic():
        due = list(
            DomainEvent.objects.unscoped()
            .filter(completed_at__isnull=True, next_dispatch_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("next_dispatch_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        DomainEvent.objects.unscoped().filter(pk__in=due).update(next_dispatch_at=now + RELAY_GRACE)
    return due
