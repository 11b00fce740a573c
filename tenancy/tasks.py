import time

from celery import shared_task

from tenancy.api import idempotency
from tenancy.redis import get_redis, redis_key

HEARTBEAT_TTL_SECONDS = 60


@shared_task(name="tenancy.tasks.record_worker_heartbeat")
def record_worker_heartbeat() -> None:
    """Run by a worker on beat's schedule: a fresh key proves both are alive for /healthz."""
    get_redis().set(redis_key("worker", "heartbeat"), int(time.time()), ex=HEARTBEAT_TTL_SECONDS)


@shared_task(name="tenancy.tasks.purge_expired_idempotency_keys")
def purge_expired_idempotency_keys() -> int:
    return idempotency.purge_expired()
