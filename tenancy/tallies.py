"""What the tally tables share (messaging's message and attempt tallies, campaigns' publication
tallies): their rows are per quarter hour, and a range is read as its whole quarter hours from the
tallies plus the partial ones at its ends from the rows themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import Q

# Every time zone's offset from UTC is a whole number of quarter hours, so a quarter hour never
# straddles a local hour or day: hour and day charts in any project's time zone add whole quarters.
QUARTER_HOUR = timedelta(minutes=15)
_SECONDS = int(QUARTER_HOUR.total_seconds())


def quarter_floor(moment: datetime) -> datetime:
    return datetime.fromtimestamp(int(moment.timestamp()) // _SECONDS * _SECONDS, tz=UTC)


def quarter_hours_inside(
    column: str, since: datetime, until: datetime
) -> tuple[tuple[datetime, datetime] | None, Q]:
    """The whole quarter hours inside [since, until) as a [start, end) pair (None if there are none),
    and a condition on `column` for the rest of the range: the partial quarter hours at both ends."""
    start = quarter_floor(since)
    if start < since:
        start += QUARTER_HOUR
    end = quarter_floor(until)
    if start >= end:
        return None, Q(**{f"{column}__gte": since, f"{column}__lt": until})
    return (start, end), Q(**{f"{column}__gte": since, f"{column}__lt": start}) | Q(
        **{f"{column}__gte": end, f"{column}__lt": until}
    )
