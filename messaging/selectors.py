"""Reads over a stream's messages and attempts, for the owner's analytics and activity views."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Trunc

from messaging.models import (
    AttemptTally,
    Message,
    MessageAttempt,
    MessageStateTally,
    MessageStream,
)
from tenancy.models import Project
from tenancy.tallies import quarter_hours_inside


def message_counts(*, project: Project, stream: MessageStream) -> dict[str, dict[str, int]]:
    """Per channel: how many messages are in each state, and how many of them were recovered (from
    the tallies: a few rows per state whatever the stream's size)."""
    counts: dict[str, dict[str, int]] = {}
    rows = (
        MessageStateTally.objects.for_project(project)
        .filter(stream=stream)
        .values("channel", "state", "recovered")
        .annotate(total=Sum("count"))
        .filter(total__gt=0)
        .order_by()
    )
    for row in rows:
        channel = counts.setdefault(row["channel"], {"recovered": 0})
        channel[row["state"]] = channel.get(row["state"], 0) + row["total"]
        if row["recovered"]:
            channel["recovered"] += row["total"]
    return counts


def stream_state_counts(*, project: Project, stream_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per stream: how many messages are in each state, every channel together."""
    counts: dict[int, dict[str, int]] = {}
    rows = (
        MessageStateTally.objects.for_project(project)
        .filter(stream_id__in=stream_ids)
        .values("stream_id", "state")
        .annotate(total=Sum("count"))
        .filter(total__gt=0)
        .order_by()
    )
    for row in rows:
        counts.setdefault(row["stream_id"], {})[row["state"]] = row["total"]
    return counts


def skipped_reason_counts(*, project: Project, stream: MessageStream) -> dict[str, dict[str, int]]:
    """Per channel: how many messages were skipped, by reason (`last_error`)."""
    counts: dict[str, dict[str, int]] = {}
    rows = (
        MessageStateTally.objects.for_project(project)
        .filter(stream=stream, state=Message.State.SKIPPED)
        .values("channel", "reason")
        .annotate(total=Sum("count"))
        .filter(total__gt=0)
        .order_by()
    )
    for row in rows:
        counts.setdefault(row["channel"], {})[row["reason"] or "skipped"] = row["total"]
    return counts


def _check_bucket(bucket: str) -> None:
    if bucket not in ("hour", "day"):
        raise ValueError("bucket is 'hour' or 'day'")


def delivery_series(
    *,
    project: Project,
    stream: MessageStream,
    since: datetime,
    until: datetime,
    bucket: str = "hour",
) -> list[dict[str, Any]]:
    """Per time bucket (hour or day, in the project's time zone) and channel that had attempts:
    messages sent, failed for good and recovered. Whole quarter hours come from the attempt tallies,
    the partial ones at the ends of the range from the attempts themselves (two short index ranges)."""
    _check_bucket(bucket)
    zone = zoneinfo.ZoneInfo(project.timezone)
    names = ("attempts", "sent", "failed", "recovered")
    series: dict[tuple[datetime, str], dict[str, Any]] = {}

    def add(rows) -> None:
        for row in rows:
            entry = series.setdefault(
                (row["bucket"], row["channel"]),
                {"bucket": row["bucket"], "channel": row["channel"], **dict.fromkeys(names, 0)},
            )
            for name in names:
                entry[name] += row[name]

    tallied, live = quarter_hours_inside("attempted_at", since, until)
    if tallied is not None:
        add(
            AttemptTally.objects.for_project(project)
            .filter(stream=stream, bucket__gte=tallied[0], bucket__lt=tallied[1])
            .annotate(moment=Trunc("bucket", bucket, tzinfo=zone))
            .values("moment", "channel")
            .annotate(**{name: Sum(name) for name in names})
            .values("channel", *names, bucket=F("moment"))
            .order_by()
        )
    add(
        MessageAttempt.objects.for_project(project)
        .filter(live, stream=stream)
        .annotate(moment=Trunc("attempted_at", bucket, tzinfo=zone))
        .values("moment", "channel")
        .annotate(
            attempts=Count("id"),
            sent=Count("id", filter=Q(outcome=MessageAttempt.Outcome.SENT)),
            failed=Count("id", filter=Q(is_final=True)),
            recovered=Count("id", filter=Q(outcome=MessageAttempt.Outcome.SENT, number__gt=1)),
        )
        .values("channel", *names, bucket=F("moment"))
        .order_by()
    )
    # A bucket is listed when it had attempts, even if none of them sent or failed for good.
    return [
        {name: value for name, value in series[group].items() if name != "attempts"}
        for group in sorted(series)
        if series[group]["attempts"] > 0
    ]


def skipped_series(
    *, project: Project, stream: MessageStream, since: datetime, until: datetime, bucket: str = "hour"
) -> list[dict[str, Any]]:
    """Per time bucket of creation (hour or day, project time zone) and channel: messages skipped.
    Whole quarter hours from the state tallies, the partial ones at the ends from the messages."""
    _check_bucket(bucket)
    zone = zoneinfo.ZoneInfo(project.timezone)
    counts: dict[tuple[datetime, str], int] = {}
    tallied, live = quarter_hours_inside("created_at", since, until)
    rows = []
    if tallied is not None:
        rows.append(
            MessageStateTally.objects.for_project(project)
            .filter(
                stream=stream,
                state=Message.State.SKIPPED,
                created_in__gte=tallied[0],
                created_in__lt=tallied[1],
            )
            .annotate(moment=Trunc("created_in", bucket, tzinfo=zone))
            .values("moment", "channel")
            .annotate(skipped=Sum("count"))
            .order_by()
        )
    rows.append(
        Message.objects.for_project(project)
        .filter(live, stream=stream, state=Message.State.SKIPPED)
        .annotate(moment=Trunc("created_at", bucket, tzinfo=zone))
        .values("moment", "channel")
        .annotate(skipped=Count("id"))
        .order_by()
    )
    for queryset in rows:
        for row in queryset:
            key = (row["moment"], row["channel"])
            counts[key] = counts.get(key, 0) + row["skipped"]
    return [
        {"bucket": moment, "channel": channel, "skipped": count}
        for (moment, channel), count in sorted(counts.items())
        if count > 0
    ]


def attempt_activity(
    *,
    project: Project,
    stream: MessageStream,
    since: datetime | None = None,
    until: datetime | None = None,
    outcome: str | None = None,
    before: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> list[MessageAttempt]:
    """Per-message outcomes, newest first, keyset-paged: pass the last row's
    `(attempted_at, id)` as `before` for the next page. Each row carries its message and customer."""
    attempts = MessageAttempt.objects.for_project(project).filter(stream=stream)
    if since is not None:
        attempts = attempts.filter(attempted_at__gte=since)
    if until is not None:
        attempts = attempts.filter(attempted_at__lt=until)
    if outcome is not None:
        attempts = attempts.filter(outcome=outcome)
    if before is not None:
        attempts = attempts.filter(
            Q(attempted_at__lt=before[0]) | Q(attempted_at=before[0], pk__lt=before[1])
        )
    return list(
        attempts.select_related("message", "message__customer").order_by("-attempted_at", "-pk")[:limit]
    )
