"""Reads over a stream's messages and attempts, for the owner's analytics and activity views."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import Trunc

from messaging.models import Message, MessageAttempt, MessageStream
from tenancy.models import Project


def message_counts(*, project: Project, stream: MessageStream) -> dict[str, dict[str, int]]:
    """Per channel: how many messages are in each state, and how many of them were recovered."""
    counts: dict[str, dict[str, int]] = {}
    rows = (
        Message.objects.for_project(project)
        .filter(stream=stream)
        .values("channel", "state")
        .annotate(count=Count("id"), recovered=Count("id", filter=Q(recovered=True)))
        .order_by()
    )
    for row in rows:
        channel = counts.setdefault(row["channel"], {"recovered": 0})
        channel[row["state"]] = row["count"]
        channel["recovered"] += row["recovered"]
    return counts


def delivery_series(
    *,
    project: Project,
    stream: MessageStream,
    since: datetime,
    until: datetime,
    bucket: str = "hour",
) -> list[dict[str, Any]]:
    """Per time bucket (hour or day, in the project's time zone) and channel: messages sent, failed
    for good and recovered, read from the attempts (one indexed range scan)."""
    if bucket not in ("hour", "day"):
        raise ValueError("bucket is 'hour' or 'day'")
    return list(
        MessageAttempt.objects.for_project(project)
        .filter(stream=stream, attempted_at__gte=since, attempted_at__lt=until)
        .annotate(bucket=Trunc("attempted_at", bucket, tzinfo=zoneinfo.ZoneInfo(project.timezone)))
        .values("bucket", "channel")
        .annotate(
            sent=Count("id", filter=Q(outcome=MessageAttempt.Outcome.SENT)),
            failed=Count("id", filter=Q(is_final=True)),
            recovered=Count("id", filter=Q(outcome=MessageAttempt.Outcome.SENT, number__gt=1)),
        )
        .order_by("bucket", "channel")
    )


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
