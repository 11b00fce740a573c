"""What a distribution did: delivery per channel over time, codes published and redeemed, and the
merged activity log (lifecycle lines and per-message outcomes). Reads only; message and attempt
counts come from messaging's tallies (a few rows per state, one per quarter hour), never from a
count over the distribution's messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q

from campaigns.tallies import code_counts
from distributions.models import Distribution, DistributionActivity, DistributionChannel, DistributionStatus
from distributions.sending import skipped_counts
from distributions.services import stream_of
from messaging.models import Message, MessageAttempt, MessageStream
from messaging.selectors import (
    attempt_activity,
    delivery_series,
    message_counts,
    skipped_series,
    stream_state_counts,
)
from tenancy.models import Project

MESSAGE_STATES = [state for state, _ in Message.State.choices]


def redemption_rate(published: int, redeemed: int) -> float:
    return round(redeemed / published, 4) if published else 0.0


# The planner cannot tell how many hour or day buckets a range of rows falls into, so it plans a
# group per row and sorts them all. Since the tallies, the rows grouped are a distribution's quarter
# hours (up to 35,000 a year) plus the two partial ones read live; the memory keeps a long-lived
# distribution's all-time chart from sorting on disk.
ANALYTICS_WORK_MEM = "64MB"


def distribution_analytics(
    *,
    project: Project,
    distribution: Distribution,
    since: datetime,
    until: datetime,
    interval: str,
    with_message_states: bool = True,
) -> dict[str, Any]:
    """Per channel and time bucket (hour or day, project time zone): sent, failed for good, recovered
    and skipped; totals over the range; codes published in the range and how many were redeemed.
    `with_message_states` adds every message's current state and the skipped reasons (the API's
    report; the dashboard shows those on the Audience tab)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{ANALYTICS_WORK_MEM}'")
        return _distribution_analytics(
            project, distribution, since, until, interval, with_message_states=with_message_states
        )


def _distribution_analytics(
    project: Project,
    distribution: Distribution,
    since: datetime,
    until: datetime,
    interval: str,
    *,
    with_message_states: bool,
) -> dict[str, Any]:
    stream = stream_of(project, distribution)
    buckets: dict[tuple[datetime, str], dict[str, Any]] = {}

    def bucket(moment: datetime, channel: str) -> dict[str, Any]:
        return buckets.setdefault(
            (moment, channel),
            {"bucket": moment, "channel": channel, "sent": 0, "failed": 0, "recovered": 0, "skipped": 0},
        )

    states: dict[str, dict[str, int]] = {}
    skipped_reasons: dict[str, dict] = {}
    if stream is not None:
        for row in delivery_series(project=project, stream=stream, since=since, until=until, bucket=interval):
            entry = bucket(row["bucket"], row["channel"])
            entry.update(sent=row["sent"], failed=row["failed"], recovered=row["recovered"])
        for row in skipped_series(project=project, stream=stream, since=since, until=until, bucket=interval):
            bucket(row["bucket"], row["channel"])["skipped"] = row["skipped"]
        if with_message_states:
            states = message_counts(project=project, stream=stream)
            skipped_reasons = skipped_counts(project=project, stream=stream)
    series = [buckets[key] for key in sorted(buckets)]
    channels: dict[str, dict[str, int]] = {}
    for entry in series:
        total = channels.setdefault(entry["channel"], {"sent": 0, "failed": 0, "recovered": 0, "skipped": 0})
        for name in ("sent", "failed", "recovered", "skipped"):
            total[name] += entry[name]
    codes = code_counts(project=project, distribution_ids=[distribution.pk], since=since, until=until).get(
        distribution.pk, {"published": 0, "redeemed": 0}
    )
    return {
        "series": series,
        "channels": channels,
        "messages": {
            channel: {state: counts.get(state, 0) for state in [*MESSAGE_STATES, "recovered"]}
            for channel, counts in states.items()
        },
        "skipped_reasons": skipped_reasons,
        "codes_published": codes["published"],
        "codes_redeemed": codes["redeemed"],
        "redemption_rate": redemption_rate(codes["published"], codes["redeemed"]),
    }


def campaign_distribution_rows(
    *, project: Project, distributions: list[Distribution]
) -> list[dict[str, Any]]:
    """For a campaign's distributions: state, channels, codes published and redeemed, messages delivered."""
    codes = code_counts(project=project, distribution_ids=[d.pk for d in distributions])
    streams = _stream_ids(project, [d.stream_public_id for d in distributions if d.stream_public_id])
    delivered = {
        streams[stream_id]: counts.get(Message.State.SENT, 0)
        for stream_id, counts in stream_state_counts(project=project, stream_ids=list(streams)).items()
    }
    channel_kinds: dict[int, list[str]] = {}
    for distribution_id, kind in (
        DistributionChannel.objects.for_project(project)
        .filter(distribution_id__in=[d.pk for d in distributions])
        .order_by("position", "pk")
        .values_list("distribution_id", "kind")
    ):
        channel_kinds.setdefault(distribution_id, []).append(kind)
    rows = []
    for distribution in distributions:
        counts = codes.get(distribution.pk, {"published": 0, "redeemed": 0})
        rows.append(
            {
                "distribution": distribution,
                "channels": len(channel_kinds.get(distribution.pk, [])),
                "channel_kinds": channel_kinds.get(distribution.pk, []),
                "codes_published": counts["published"],
                "messages_delivered": delivered.get(distribution.stream_public_id, 0),
                "codes_redeemed": counts["redeemed"],
                "redemption_rate": redemption_rate(counts["published"], counts["redeemed"]),
            }
        )
    return rows


# A message is done once it can no longer go out: sent, failed for good or skipped.
DONE_STATES = (Message.State.SENT, Message.State.FAILED, Message.State.SKIPPED)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


def sending_progress(*, project: Project, distributions: list[Distribution]) -> dict[int, Progress]:
    """For the distributions sending now (or paused mid-send): their messages done out of all, from
    their streams' state tallies."""
    streams = {
        d.stream_public_id: d.pk
        for d in distributions
        if d.stream_public_id
        and DistributionStatus.SENDING in (d.status, d.paused_from)
        and d.status != DistributionStatus.ARCHIVED
    }
    if not streams:
        return {}
    public_ids = _stream_ids(project, list(streams))
    progress = {pk: Progress(0, 0) for pk in streams.values()}
    for stream_id, counts in stream_state_counts(project=project, stream_ids=list(public_ids)).items():
        done = sum(counts.get(state, 0) for state in DONE_STATES)
        progress[streams[public_ids[stream_id]]] = Progress(done, sum(counts.values()))
    return progress


def _stream_ids(project: Project, public_ids: list[str]) -> dict[int, str]:
    """Stream id → public id. Messages are then filtered by stream id: joined by the stream's public
    id instead, PostgreSQL scanned every message of the project (a million) to count a page's."""
    return dict(
        MessageStream.objects.for_project(project)
        .filter(public_id__in=public_ids)
        .values_list("id", "public_id")
    )


# --- Activity: lifecycle lines and per-message outcomes, one keyset-paged timeline -----------------

LIFECYCLE, MESSAGE = 1, 0  # at equal times, lifecycle lines come first (newest first, source descending)
NO_ID_LIMIT = 2**62


@dataclass(frozen=True)
class Cursor:
    moment: datetime
    source: int
    pk: int


@dataclass(frozen=True)
class ActivityEntry:
    moment: datetime
    source: int
    pk: int
    line: DistributionActivity | None = None
    attempt: MessageAttempt | None = None

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.moment, self.source, self.pk)


def activity_timeline(
    *,
    project: Project,
    distribution: Distribution,
    kind: str | None,
    since: datetime | None,
    until: datetime | None,
    after: Cursor | None,
    limit: int,
) -> tuple[list[ActivityEntry], bool]:
    """Newest first: the lifecycle lines (kind = an activity kind) and message outcomes (kind =
    "message"), each source read by its own index range scan from the cursor on."""
    entries: list[ActivityEntry] = []
    if kind != "message":
        lines = DistributionActivity.objects.for_project(project).filter(distribution=distribution)
        if kind:
            lines = lines.filter(kind=kind)
        if since is not None:
            lines = lines.filter(created_at__gte=since)
        if until is not None:
            lines = lines.filter(created_at__lt=until)
        if after is not None:
            earlier = Q(created_at__lt=after.moment)
            if after.source == LIFECYCLE:
                earlier |= Q(created_at=after.moment, pk__lt=after.pk)
            lines = lines.filter(earlier)
        entries.extend(
            ActivityEntry(line.created_at, LIFECYCLE, line.pk, line=line)
            for line in lines.order_by("-created_at", "-pk")[: limit + 1]
        )
    stream = stream_of(project, distribution)
    if kind in (None, "", "message") and stream is not None:
        before = None
        if after is not None:
            before = (after.moment, after.pk if after.source == MESSAGE else NO_ID_LIMIT)
        attempts = attempt_activity(
            project=project, stream=stream, since=since, until=until, before=before, limit=limit + 1
        )
        entries.extend(ActivityEntry(a.attempted_at, MESSAGE, a.pk, attempt=a) for a in attempts)
    entries.sort(key=lambda e: (e.moment, e.source, e.pk), reverse=True)
    return entries[:limit], len(entries) > limit
