"""Demo segments for `seed_demo`: `seed_segments(project)` is idempotent (segments found by name)."""

from __future__ import annotations

from segments.models import Segment
from segments.services import segment_create
from tenancy.models import Project

DEMO_SEGMENTS = [
    {
        "name": "Gold club",
        "type": Segment.Type.AUTO_UPDATE,
        "filter": {"junction": "and", "metadata.club_level": {"conditions": {"$in": ["Gold", "Platinum"]}}},
    },
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
]


def seed_segments(project: Project) -> list[Segment]:
    """Create the demo segments that the project lacks; each starts its initial sync on commit."""
    existing = {
        segment.name: segment
        for segment in Segment.objects.for_project(project).filter(
            name__in=[spec["name"] for spec in DEMO_SEGMENTS]
        )
    }
    segments = []
    for spec in DEMO_SEGMENTS:
        segment = existing.get(spec["name"]) or segment_create(project=project, **spec)
        segments.append(segment)
    return segments
