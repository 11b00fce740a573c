"""Quiet hours: a stream's daily window, in the project's time zone, in which nothing is sent.

A message due inside the window is deferred to the window's end (the retry sweep hands it back);
delivery checks again when it claims it, so a window set after materialisation still holds.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from messaging.models import MessageStream
from tenancy.models import Project

QUIET_HOURS_REASON = "Quiet hours until {until}."


def quiet_until(*, start: time | None, end: time | None, tz: str, now: datetime) -> datetime | None:
    """The end of the quiet window `now` falls in, or None when `now` is outside it (or no window).

    `start` is inside the window, `end` is not; a window whose start is after its end crosses midnight.
    """
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(zoneinfo.ZoneInfo(tz))
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside, end_day = start <= clock < end, local.date()
    else:
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    # Built from the wall clock so a daylight-saving change inside the window is honoured.
    ends = datetime.combine(end_day, end, tzinfo=zoneinfo.ZoneInfo(tz))
    return ends.astimezone(UTC)


def stream_quiet_until(stream: MessageStream, project: Project, now: datetime) -> datetime | None:
    return quiet_until(
        start=stream.quiet_hours_start, end=stream.quiet_hours_end, tz=project.timezone, now=now
    )


@transaction.atomic
def message_stream_set_quiet_hours(
    *, project: Project, stream: MessageStream, start: time | None, end: time | None
) -> None:
    """Set (or, with both None, clear) the stream's quiet hours; the owner (a distribution) calls this."""
    if (start is None) != (end is None):
        raise ValidationError("Quiet hours need both a start and an end.")
    if start is not None and start == end:
        raise ValidationError("Quiet hours must not start and end at the same time.")
    MessageStream.objects.for_project(project).filter(pk=stream.pk).update(
        quiet_hours_start=start, quiet_hours_end=end, updated_at=timezone.now()
    )
    stream.quiet_hours_start, stream.quiet_hours_end = start, end
