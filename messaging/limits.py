"""A project's message limits (per day and per month, every channel counted, webhooks included), the
unlock requests that lift them, and the per-project, per-channel send rate.

- Limits are counted in Redis by one Lua script that checks both counters and increments both, or
  neither: two delivery tasks can never both take the last message of the day (no check-then-act).
  A message counts once, at its first attempt; one over the limit is held as `blocked_limit` with
  the reason. Days and months are the project's own (its time zone).
- An unlock request needs the brand details; the operator (staff) approves it, which lifts the
  limits and hands held messages back to delivery. Held messages older than `HOLD_DAYS` fail instead,
  at approval or in the sweep, whichever comes first.
- The send rate is a token bucket per project and channel in Redis; a message over the rate is
  deferred (never failed) until the bucket has a token again.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from messaging.models import Message, MessageLimitUnlockRequest, MessageStream
from messaging.services import _enqueue_after_commit
from tenancy.models import Project
from tenancy.redis import get_redis, redis_key

HOLD_DAYS = 7
EXPIRED_REASON = f"Held by the project's message limit for more than {HOLD_DAYS} days; not sent."
DAY_LIMIT_REASON = "The project's limit of {limit} messages a day is reached; held until the limit is lifted."
MONTH_LIMIT_REASON = (
    "The project's limit of {limit} messages a month is reached; held until the limit is lifted."
)

# KEYS: day counter, month counter. ARGV: day limit, month limit (-1: none), seconds to keep them.
# Returns 0 when the message is counted, 1 when the day is full, 2 when the month is.
_TAKE_QUOTA = """
local day = tonumber(redis.call('GET', KEYS[1]) or '0')
local month = tonumber(redis.call('GET', KEYS[2]) or '0')
local day_limit, month_limit = tonumber(ARGV[1]), tonumber(ARGV[2])
if day_limit >= 0 and day >= day_limit then return 1 end
if month_limit >= 0 and month >= month_limit then return 2 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 0
"""

# A token bucket refilled continuously. KEYS: the bucket. ARGV: rate per second, capacity, now (integer
# milliseconds, so elapsed time is exact), tokens wanted. Returns {tokens granted, milliseconds until
# the next token when none were}.
_TAKE_TOKENS = """
local rate, capacity, now, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, at = capacity, now end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate / 1000)
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
local wait = 0
if granted == 0 then wait = math.ceil((1 - tokens) / rate * 1000) end
return {granted, wait}
"""


def has_limits(project: Project) -> bool:
    return project.message_limit_per_day is not None or project.message_limit_per_month is not None


def quota_take(project: Project, now: datetime) -> str | None:
    """Count one message against the project's limits; the reason it is held when a limit is full."""
    if not has_limits(project):
        return None
    local = now.astimezone(zoneinfo.ZoneInfo(project.timezone))
    day_limit, month_limit = project.message_limit_per_day, project.message_limit_per_month
    result = get_redis().eval(
        _TAKE_QUOTA,
        2,
        redis_key("message-quota", project.pk, "day", local.strftime("%Y-%m-%d")),
        redis_key("message-quota", project.pk, "month", local.strftime("%Y-%m")),
        -1 if day_limit is None else day_limit,
        -1 if month_limit is None else month_limit,
        32 * 24 * 3600,
    )
    if result == 1:
        return DAY_LIMIT_REASON.format(limit=day_limit)
    if result == 2:
        return MONTH_LIMIT_REASON.format(limit=month_limit)
    return None


@dataclass(frozen=True)
class SendRate:
    per_second: float
    burst: int


def send_rate(channel: str) -> SendRate | None:
    """The per-project send rate of `channel` (settings `MESSAGING_SEND_RATES`: channel → (per
    second, burst)); None for no limit."""
    configured = getattr(settings, "MESSAGING_SEND_RATES", {}).get(channel)
    if not configured:
        return None
    per_second, burst = configured
    return SendRate(float(per_second), max(1, int(burst)))


def send_tokens_take(project: Project, channel: str, wanted: int, now: datetime) -> tuple[int, timedelta]:
    """Take up to `wanted` send tokens; (granted, how long until the next one when none were)."""
    rate = send_rate(channel)
    if rate is None:
        return wanted, timedelta(0)
    granted, wait_ms = get_redis().eval(
        _TAKE_TOKENS,
        1,
        redis_key("send-rate", project.pk, channel),
        rate.per_second,
        rate.burst,
        int(now.timestamp() * 1000),
        wanted,
    )
    return int(granted), timedelta(milliseconds=max(1, int(wait_ms)) if not granted else 0)


# --- Reads ------------------------------------------------------------------------------------


def blocked_by_limit_count(project: Project, stream: MessageStream) -> int:
    """How many of the stream's messages the project's limit holds (the distribution page says so)."""
    return (
        Message.objects.for_project(project).filter(stream=stream, state=Message.State.BLOCKED_LIMIT).count()
    )


def pending_unlock_request(project: Project) -> MessageLimitUnlockRequest | None:
    return (
        MessageLimitUnlockRequest.objects.for_project(project)
        .filter(state=MessageLimitUnlockRequest.State.PENDING)
        .order_by("-created_at")
        .first()
    )


# --- Unlock requests --------------------------------------------------------------------------


@transaction.atomic
def unlock_request_create(
    *, project: Project, requested_by: AbstractBaseUser | None, message: str = ""
) -> MessageLimitUnlockRequest:
    """Ask the operator to lift the limits; needs the brand details (company name and address)."""
    if not has_limits(project):
        raise ValidationError("This project has no message limits to lift.")
    if not project.has_brand_details:
        raise ValidationError(
            "Add your company name and address in the project settings before asking for higher limits."
        )
    existing = pending_unlock_request(project)
    if existing is not None:
        return existing
    return MessageLimitUnlockRequest.objects.create(
        project=project,
        requested_by=requested_by,
        company_name=project.company_name,
        company_address=project.company_address,
        message=message.strip(),
    )


_RELEASE_SQL = """
UPDATE messaging_message SET state = 'queued', queued_at = %(now)s, last_error = ''
WHERE project_id = %(project)s AND state = 'blocked_limit' AND created_at >= %(since)s
RETURNING channel, id
"""
_EXPIRE_SQL = """
UPDATE messaging_message SET state = 'failed', last_error = %(reason)s
WHERE project_id = %(project)s AND state = 'blocked_limit' AND created_at < %(since)s
"""


@transaction.atomic
def unlock_request_approve(
    *, request: MessageLimitUnlockRequest, operator: AbstractBaseUser
) -> MessageLimitUnlockRequest:
    """Lift the project's limits and release its held messages (those held too long fail instead).

    Operator code: `operator` must be staff; the tenant's own members cannot approve themselves.
    """
    if not operator.is_staff:
        raise PermissionError("Only the operator's staff approve unlock requests.")
    locked = (
        MessageLimitUnlockRequest.objects.for_project(request.project).select_for_update().get(pk=request.pk)
    )
    if locked.state != MessageLimitUnlockRequest.State.PENDING:
        return locked
    project = Project.objects.select_for_update().get(pk=locked.project_id)
    project.message_limit_per_day = project.message_limit_per_month = None
    if project.plan == Project.Plan.TRIAL:
        project.plan = Project.Plan.STANDARD
    project.save(update_fields=["message_limit_per_day", "message_limit_per_month", "plan"])
    now = timezone.now()
    params = {
        "project": project.pk,
        "now": now,
        "since": now - timedelta(days=HOLD_DAYS),
        "reason": EXPIRED_REASON,
    }
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRE_SQL, params)
        expired = cursor.rowcount
        cursor.execute(_RELEASE_SQL, params)
        released = cursor.fetchall()
    _enqueue_after_commit(project, released)
    locked.state, locked.decided_by, locked.decided_at = (
        MessageLimitUnlockRequest.State.APPROVED,
        operator,
        now,
    )
    locked.released, locked.expired = len(released), expired
    locked.save(update_fields=["state", "decided_by", "decided_at", "released", "expired"])
    request.refresh_from_db()
    return locked


@transaction.atomic
def unlock_request_reject(
    *, request: MessageLimitUnlockRequest, operator: AbstractBaseUser
) -> MessageLimitUnlockRequest:
    if not operator.is_staff:
        raise PermissionError("Only the operator's staff decide unlock requests.")
    MessageLimitUnlockRequest.objects.for_project(request.project).filter(
        pk=request.pk, state=MessageLimitUnlockRequest.State.PENDING
    ).update(state=MessageLimitUnlockRequest.State.REJECTED, decided_by=operator, decided_at=timezone.now())
    request.refresh_from_db()
    return request


_EXPIRE_ALL_SQL = """
UPDATE messaging_message SET state = 'failed', last_error = %(reason)s
WHERE id IN (
    SELECT id FROM messaging_message
    WHERE state = 'blocked_limit' AND created_at < %(since)s
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
"""


def held_messages_expire(*, now: datetime, limit: int) -> int:
    """Fail messages held by a limit for more than `HOLD_DAYS` (beat; cross-tenant by design)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _EXPIRE_ALL_SQL,
            {"reason": EXPIRED_REASON, "since": now - timedelta(days=HOLD_DAYS), "limit": limit},
        )
        return cursor.rowcount
