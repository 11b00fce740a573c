"""Members over time: hourly samples of every segment's member count, read back for the chart."""

from __future__ import annotations

from dataclasses import dataclass
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


CHART_DAYS = 30
WIDTH, HEIGHT, PADDING = 640, 140, 24


@dataclass
class SizeChart:
    """A line of the member count over the last days, drawn by the template as one polyline."""

    points: str  # "x,y x,y …" in the SVG's coordinates
    peak: int
    first_label: str
    last_label: str
    samples: list[tuple[datetime, int]]
    width: int = WIDTH
    height: int = HEIGHT


def size_chart(*, project: Project, segment: Segment, now: datetime | None = None) -> SizeChart:
    now = now or timezone.now()
    since = now - timedelta(days=CHART_DAYS)
    samples = segment_sizes(project=project, segment=segment, since=since)
    peak = max(members for _, members in samples) or 1
    span = (now - since).total_seconds()
    plot_width, plot_height = WIDTH - 2 * PADDING, HEIGHT - 2 * PADDING

    def point(at: datetime, members: int) -> str:
        x = PADDING + plot_width * max(0.0, (at - since).total_seconds()) / span
        y = HEIGHT - PADDING - plot_height * members / peak
        return f"{x:.1f},{y:.1f}"

    return SizeChart(
        points=" ".join(point(at, members) for at, members in samples),
        peak=peak,
        first_label=samples[0][0].strftime("%b %d"),
        last_label="now",
        samples=samples,
    )
