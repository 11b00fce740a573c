"""The segment app's wiring into Celery and the event bus."""

from config.celery import app
from eventbus.registry import handlers_for


def test_segment_tasks_run_on_their_own_queue_and_beat_schedules_the_sweeps():
    assert app.conf.task_routes["segments.tasks.*"] == {"queue": "segments"}
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {
        "segments.tasks.resume_stalled_syncs",
        "segments.tasks.resync_time_dependent_segments",
        "segments.tasks.purge_abandoned_drafts",
    } <= scheduled


def test_the_membership_recheck_runs_first_on_customer_events():
    for event_type in (
        "customer.created",
        "customer.updated",
        "customer.order.paid",
        "customer.custom_event",
        "customer.redemption.succeeded",
        "customer.redemption.rollback.succeeded",
        "customer.voucher.loyalty_card.points_added",
        "customer.voucher.loyalty_card.points_expired",
        "customer.rewarded.loyalty_points",
        "customer.reward_redemptions.completed",
        "customer.loyalty.tier.upgraded",
        "customer.loyalty.tier.downgraded",
    ):
        handlers = handlers_for(event_type)
        assert handlers and handlers[0].name == "segments.realtime.recheck_customer"
        assert handlers[0].order == 10
    assert not any(
        h.name == "segments.realtime.recheck_customer" for h in handlers_for("customer.segment.entered")
    )


def test_publications_are_not_re_checked_so_bulk_publishing_needs_no_dispatch():
    assert not any(h.name.startswith("segments.") for h in handlers_for("customer.publication.succeeded"))
