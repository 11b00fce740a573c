"""`/healthz`: database, broker and worker heartbeat, as JSON; 503 when any part is down."""

from __future__ import annotations

import time

from django.db import connection
from django.http import HttpRequest, JsonResponse

from tenancy.redis import get_redis, redis_key
from tenancy.tasks import HEARTBEAT_TTL_SECONDS


def healthz(request: HttpRequest) -> JsonResponse:
    parts: dict[str, dict] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        parts["database"] = {"status": "up"}
    except Exception as error:
        parts["database"] = {"status": "down", "error": str(error)[:200]}
    try:
        redis = get_redis()
        redis.ping()
        parts["broker"] = {"status": "up"}
        beat = redis.get(redis_key("worker", "heartbeat"))
        if beat is None:
            parts["worker"] = {
                "status": "down",
                "error": f"no heartbeat in the last {HEARTBEAT_TTL_SECONDS} s",
            }
        else:
            parts["worker"] = {"status": "up", "last_heartbeat_seconds_ago": int(time.time()) - int(beat)}
    except Exception as error:
        parts["broker"] = {"status": "down", "error": str(error)[:200]}
        parts["worker"] = {"status": "unknown"}
    healthy = all(part["status"] == "up" for part in parts.values())
    return JsonResponse({"status": "up" if healthy else "down", **parts}, status=200 if healthy else 503)
