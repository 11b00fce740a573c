"""Per-project API rate limit: a fixed one-minute window counted atomically in Redis."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis

from tenancy.models import Project
from tenancy.redis import get_redis, redis_key

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    resets_at: int

    @property
    def is_exceeded(self) -> bool:
        return self.remaining < 0

    def headers(self) -> dict[str, str]:
        headers = {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(max(self.remaining, 0)),
            "X-Rate-Limit-Retry": str(self.resets_at),
            "X-Rate-Limit-Type": "api_calls",
        }
        if self.is_exceeded:
            headers["Retry-After"] = str(max(self.resets_at - int(time.time()), 1))
        return headers


def count_request(project: Project) -> RateLimitState | None:
    """Count one request; None when Redis is unreachable (the limit fails open, the API keeps serving)."""
    now = int(time.time())
    window = now - now % WINDOW_SECONDS
    key = redis_key("ratelimit", project.pk, window)
    try:
        pipe = get_redis().pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, WINDOW_SECONDS + 5)
        used, _ = pipe.execute()
    except redis.RedisError:
        logger.warning("Rate limit not counted: Redis unreachable", exc_info=True)
        return None
    limit = project.api_requests_per_minute
    return RateLimitState(limit=limit, remaining=limit - int(used), resets_at=window + WINDOW_SECONDS)
