"""Demo segments for `seed_demo`: `seed_segments(project)` is idempotent (segments found by name).

"Gold club" holds the members in tier Gold of the demo loyalty program ("Demo Rewards", see
campaigns/demo_loyalty.py); run `seed_loyalty` first, or it is left out. The segments are synced
here, in the seeding process, so a plain `manage.py seed_demo` leaves them SYNCED without a worker
(the queued sync task finds its job done and does nothing).
"""

from __future__ import annotations

from typing import Any

from campaigns.models import LoyaltyTier
from segments.models import Segment, SegmentSyncJob
from segments.services import segment_create
from segments.sync import sync_job_run
from tenancy.models import Project

LOYALTY_PROGRAM = "Demo Rewards"
GOLD_TIER = "Gold"


def _gold_club(project: Project) -> dict[str, Any] | None:
    gold = (
        LoyaltyTier.objects.for_project(project)
        .filter(campaign__name=LOYALTY_PROGRAM, name=GOLD_TIER)
        .values_list("public_id", flat=True)
        .first()
    )
    if gold is None:
        return None
    return {
        "name": "Gold club",
        "type": Segment.Type.AUTO_UPDATE,
        "filter": {
            "junction": "and",
            f"loyalty_tier.campaigns.{LOYALTY_PROGRAM}.tier": {"conditions": {"$is": [gold]}},
        },
    }


DEMO_SEGMENTS: list[dict[str, Any]] = [
    {
        "name": "Big spenders",
        "type": Segment.Type.AUTO_UPDATE,
        "filter": {"junction": "and", "summary.orders.total_amount": {"conditions": {"$more_than": [50000]}}},
        "reentry_cooldown_seconds": 24 * 3600,
    },
    {
        "name": "Cart abandoners",
        "type": Segment.Type.AUTO_UPDATE,
        "filter": {
            "junction": "and",
            "events.cart_abandoned.count": {"conditions": {"$more_than": [0]}, "window_days": 30},
            "email": {"conditions": {"$has_value": []}},
        },
    },
    {
        "name": "Almost Silver",
        "type": Segment.Type.AUTO_UPDATE,
        "filter": {
            "junction": "and",
            f"loyalty_points.campaigns.{LOYALTY_PROGRAM}.points": {
                "conditions": {"$more_than_equal": [300], "$less_than": [500]}
            },
        },
    },
]


def demo_segment_specs(project: Project) -> list[dict[str, Any]]:
    """The demo's segments for this project: Gold club only once the loyalty program has its tiers."""
    gold_club = _gold_club(project)
    return ([gold_club] if gold_club else []) + DEMO_SEGMENTS


def seed_segments(project: Project) -> list[Segment]:
    """Create the demo segments that the project lacks and sync every one still syncing, here."""
    specs = demo_segment_specs(project)
    existing = {
        segment.name: segment
        for segment in Segment.objects.for_project(project).filter(name__in=[spec["name"] for spec in specs])
    }
    segments = [existing.get(spec["name"]) or segment_create(project=project, **spec) for spec in specs]
    pending = (
        SegmentSyncJob.objects.for_project(project)
        .filter(
            segment__in=segments,
            status__in=[SegmentSyncJob.Status.PENDING, SegmentSyncJob.Status.RUNNING],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for job_id in list(pending):
        sync_job_run(job_id)
    for segment in segments:
        segment.refresh_from_db()
    return segments
