import time

from celery import shared_task

from eventbus import dispatch as event_dispatch
from eventbus.services import DISPATCH_BATCH, enqueue_dispatch


@shared_task(name="eventbus.tasks.dispatch_events")
def dispatch_events(event_ids: list[int]) -> int:
    """Dispatch the events as one batch, filled up with other events waiting for their first
    dispatch; returns how many completed."""
    return event_dispatch.dispatch_batch(event_ids, fill_up_to=DISPATCH_BATCH)


RELAY_TIME_BUDGET_SECONDS = 8.0


@shared_task(name="eventbus.tasks.relay_undispatched_events")
def relay_undispatched_events() -> int:
    """Hand over overdue events in batches until none are due or the time budget (shorter than the
    beat interval) is spent, so a backlog after a broker outage drains at broker speed."""
    deadline = time.monotonic() + RELAY_TIME_BUDGET_SECONDS
    relayed = 0
    while time.monotonic() < deadline:
        event_ids = event_dispatch.claim_due_events()
        enqueue_dispatch(event_ids)
        relayed += len(event_ids)
        if len(event_ids) < event_dispatch.RELAY_BATCH:
            break
    return relayed
