"""The Voucherify segment object, and the short form of the customer's segment list."""

from __future__ import annotations

from typing import Any

from segments.models import Segment
from tenancy.formats import iso


def segment_object(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.public_id,
        "name": segment.name,
        "created_at": iso(segment.created_at),
        "updated_at": iso(segment.updated_at),
        "type": segment.type,
        "filter": segment.filter,
        "initial_sync_status": segment.initial_sync_status,
        "object": "segment",
        # Ours, beyond Voucherify's object (the SDK ignores unknown keys): the sync's live state.
        "sync": {
            "status": segment.status,
            "progress": segment.sync_progress,
            "synced_at": iso(segment.synced_at),
            "members_count": segment.member_count,
        },
        "reentry_cooldown_seconds": segment.reentry_cooldown_seconds,
    }


def simple_segment_object(segment: Segment) -> dict[str, Any]:
    return {"id": segment.public_id, "name": segment.name, "object": "segment"}
