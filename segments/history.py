"""Members over time: hourly samples of every segment's member count, read back for the chart."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from segments.models import Segment, SegmentSize
from tenancy.models import Project

# A year of hourly samples per segment at most; older ones add nothing a marketer reads.
KEPT_FOR = timedelta(days=365)


def segment_sizes_record(*, now: datetime | None = None) -> int:
    """Sample every segment's count (drafts aside) in one statement; returns how many were taken."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {SegmentSize._meta.db_table} (project_id, segment_id, taken_at, members)
            SELECT project_id, id, %s, member_count FROM {Segment._meta.db_table} WHERE NOT is_draft
            """,  # noqa: S608 (table names only)
            [now],
        )
        taken = cursor.rowcount
        cursor.execute(f"DELETE FROM {SegmentSize._meta.db_table} WHERE taken_at < %s", [now - KEPT_FOR])  # noqa: S608
    return taken


def segment_sizes(*, project: Project, segment: Segment, since: datetime) -> list[tuple[datetime, int]]:
    """(time, members) since `since`, oldest first, with the count now as the last point."""
    samples = list(
        SegmentSize.objects.for_project(project)
        .filter(segment=segment, taken_at__gte=since)
        .order_by("taken_at")
        .values_list("taken_at", "members")
    )
    return [*samples, (timezone.now(), segment.member_count)]
