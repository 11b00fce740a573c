"""The patches. Both are candidates for the app itself, described in docs/benchmarks.md.

1. Bulk imports get a queue of their own (`imports`), so an import no longer waits behind the
   `events` queue's backlog of dispatch tasks that earlier imports published (the queue is FIFO).
   Skipped when the app already routes imports elsewhere (config/celery.py now sends them to `bulk`).
2. `dispatch_events` completes events whose type has no registered handler with one UPDATE for the
   batch, instead of four statements and two commits per event; events with handlers still go
   through `eventbus.dispatch.dispatch` one by one, exactly as before.
"""

from __future__ import annotations

IMPORT_QUEUE = "imports"


def route_imports_to_own_queue() -> None:
    from kombu import Queue

    from config.celery import app

    router_queue = app.amqp.router.route({}, "customers.tasks.apply_bulk_import")["queue"].name
    if router_queue != app.amqp.router.route({}, "eventbus.tasks.dispatch_events")["queue"].name:
        return  # the app already keeps imports off the events queue
    routes = dict(app.conf.task_routes or {})
    routes = {"customers.tasks.apply_bulk_import": {"queue": IMPORT_QUEUE}, **routes}
    app.conf.task_routes = routes
    if all(queue.name != IMPORT_QUEUE for queue in app.conf.task_queues):
        app.conf.task_queues = [*app.conf.task_queues, Queue(IMPORT_QUEUE)]


def batch_complete_handlerless_events() -> None:
    from django.db.models import F, Q
    from django.utils import timezone

    from eventbus import dispatch as event_dispatch
    from eventbus import tasks
    from eventbus.models import DomainEvent
    from eventbus.registry import handlers_for

    def dispatch_events(event_ids: list[int]) -> int:
        events = DomainEvent.objects.unscoped().filter(pk__in=event_ids, completed_at__isnull=True)
        types = dict(events.values_list("pk", "type"))
        without = [pk for pk, type_ in types.items() if not handlers_for(type_)]
        now = timezone.now()
        completed = (
            DomainEvent.objects.unscoped()
            .filter(pk__in=without, completed_at__isnull=True)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .update(completed_at=now, dispatch_attempts=F("dispatch_attempts") + 1)
        )
        with_handlers = [pk for pk in event_ids if pk in types and pk not in set(without)]
        return completed + sum(event_dispatch.dispatch(pk) for pk in with_handlers)

    tasks.dispatch_events.run = dispatch_events
