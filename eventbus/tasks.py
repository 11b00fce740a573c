from celery import shared_task

from eventbus import dispatch as event_dispatch
from eventbus.services import enqueue_dispatch


@shared_task(name="eventbus.tasks.dispatch_events")
def dispatch_events(event_ids: list[int]) -> int:
    """Dispatch each event; returns how many completed."""
    return sum(event_dispatch.dispatch(event_id) for event_id in event_ids)


@shared_task(name="eventbus.tasks.relay_undispatched_events")
def relay_undispatched_events() -> int:
    event_ids = event_dispatch.claim_due_events()
    enqueue_dispatch(event_ids)
    return len(event_ids)
