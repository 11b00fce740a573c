import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")

QUEUES = (
    "events",
    "segments",
    "distributions",
    "delivery.email",
    "delivery.sms",
    "delivery.webhook",
    "delivery.integrations",
    "bulk",
)
app.conf.task_queues = [Queue(name) for name in QUEUES]
# Routing is by task module: each app's tasks go to the queue of the work they do.
app.conf.task_routes = {
    "eventbus.tasks.*": {"queue": "events"},
    # Long imports and code generation get their own queue so they never hold up event dispatch.
    "customers.tasks.*": {"queue": "bulk"},
    "campaigns.tasks.*": {"queue": "bulk"},
    "tenancy.tasks.*": {"queue": "events"},
    "segments.tasks.*": {"queue": "segments"},
    "distributions.tasks.*": {"queue": "distributions"},
    "messaging.tasks.deliver_email": {"queue": "delivery.email"},
    "messaging.tasks.deliver_sms": {"queue": "delivery.sms"},
    "messaging.tasks.deliver_webhook": {"queue": "delivery.webhook"},
    "messaging.tasks.deliver_integration": {"queue": "delivery.integrations"},
    "messaging.tasks.sweep_messages": {"queue": "events"},
    "messaging.tasks.compact_tallies": {"queue": "events"},
}
app.conf.beat_schedule = {
    "relay-undispatched-events": {"task": "eventbus.tasks.relay_undispatched_events", "schedule": 10.0},
    "worker-heartbeat": {"task": "tenancy.tasks.record_worker_heartbeat", "schedule": 10.0},
    "resume-stalled-bulk-imports": {"task": "customers.tasks.resume_stalled_bulk_imports", "schedule": 60.0},
    "purge-expired-idempotency-keys": {
        "task": "tenancy.tasks.purge_expired_idempotency_keys",
        "schedule": 3600.0,
    },
    "claim-due-distributions": {"task": "distributions.tasks.claim_due_distributions", "schedule": 15.0},
    "end-closed-distributions": {"task": "distributions.tasks.end_closed_distributions", "schedule": 60.0},
    "sweep-messages": {"task": "messaging.tasks.sweep_messages", "schedule": 15.0},
    "compact-message-tallies": {"task": "messaging.tasks.compact_tallies", "schedule": 60.0},
    "compact-publication-tallies": {
        "task": "campaigns.tasks.compact_publication_tallies",
        "schedule": 60.0,
    },
    "expire-loyalty-points": {
        "task": "campaigns.loyalty.tasks.expire_loyalty_points",
        "schedule": 3600.0,
        "options": {"queue": "bulk"},
    },
    "sweep-sending-distributions": {
        "task": "distributions.tasks.sweep_sending_distributions",
        "schedule": 15.0,
    },
    "resume-stalled-segment-syncs": {"task": "segments.tasks.resume_stalled_syncs", "schedule": 30.0},
    "resync-time-dependent-segments": {
        "task": "segments.tasks.resync_time_dependent_segments",
        "schedule": 3600.0,
    },
    "purge-abandoned-draft-segments": {"task": "segments.tasks.purge_abandoned_drafts", "schedule": 3600.0},
    "record-segment-sizes": {"task": "segments.tasks.record_segment_sizes", "schedule": 3600.0},
}
app.autodiscover_tasks()
