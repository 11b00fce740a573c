"""Dispatching one event to its handlers, and the relay that re-dispatches anything left behind."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from eventbus.models import DomainEvent, HandlerRun
from eventbus.registry import handlers_for

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_HANDLER_ATTEMPTS = 8
RELAY_BATCH = 1000


def handler_backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(15 * 2 ** (attempts - 1), 3600))


def dispatch(event_id: int) -> bool:
    """Run every handler of the event that has not succeeded yet, each in its own transaction.

    Returns whether the event is complete. A failing handler is recorded and retried later by the
    relay; the others still run now, and a handler that already succeeded is never run again.
    """
    now = timezone.now()
    claimed = (
        DomainEvent.objects.unscoped()
        .filter(pk=event_id, completed_at__isnull=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE, dispatch_attempts=F("dispatch_attempts") + 1)
    )
    if not claimed:
        return False
    event = DomainEvent.objects.unscoped().select_related("project").get(pk=event_id)
    finished = {run.handler: run for run in HandlerRun.objects.for_project(event.project).filter(event=event)}
    retry_after = None
    for handler in handlers_for(event.type):
        run = finished.get(handler.name)
        if run is not None and run.status in (HandlerRun.Status.SUCCEEDED, HandlerRun.Status.ABANDONED):
            continue
        attempts = (run.attempts if run else 0) + 1
        try:
            with transaction.atomic():
                handler.function(event)
                _record_run(event, handler.name, HandlerRun.Status.SUCCEEDED, attempts, "")
        except Exception as error:
            logger.exception(
                "Handler %s failed on event %s (attempt %s)", handler.name, event.public_id, attempts
            )
            if attempts >= MAX_HANDLER_ATTEMPTS:
                _record_run(event, handler.name, HandlerRun.Status.ABANDONED, attempts, repr(error))
            else:
                _record_run(event, handler.name, HandlerRun.Status.FAILED, attempts, repr(error))
                backoff = handler_backoff(attempts)
                retry_after = backoff if retry_after is None else min(retry_after, backoff)

    events = DomainEvent.objects.unscoped().filter(pk=event.pk)
    if retry_after is None:
        events.update(completed_at=timezone.now(), lease_until=None)
        return True
    events.update(lease_until=None, next_dispatch_at=timezone.now() + retry_after)
    return False


def _record_run(event: DomainEvent, handler: str, status: str, attempts: int, error: str) -> None:
    HandlerRun.objects.update_or_create(
        project=event.project,
        event=event,
        handler=handler,
        defaults={
            "status": status,
            "attempts": attempts,
            "last_error": error[:2000],
            "updated_at": timezone.now(),
        },
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
