"""Fair sharing of a channel's delivery workers between projects.

A delivery task is a turn, not a fixed batch: `enqueue_delivery` pushes each batch of ids onto its
project's own list in Redis (a sub-queue per channel and project) and sends one task per batch; a
task, when it runs, takes the next batch round robin across the projects that have work. So one
project's 2,000-message send (ten batches) and another's single automatic message (one batch)
alternate: the second is delivered after at most one batch per running task, not after the ten.

The task still carries its own batch: if Redis lost the sub-queues (a restart), or every batch was
already taken, it delivers its own ids, which are idempotent to deliver twice (claim-before-send).
Batches pushed without a task (a broker outage) are handed over again by the orphan sweep.

Each take also records when the channel last made progress, so that the sweep can tell a project
working through a backlog (its messages wait their turn and are not lost) from one whose hand-over
was lost (`projects_waiting`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence

import redis

from tenancy.redis import get_redis, redis_key

logger = logging.getLogger(__name__)

# KEYS: ring, members set, project's list. ARGV: project id, batches (JSON) ...
_PUSH = """
for i = 2, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[i]) end
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then redis.call('RPUSH', KEYS[1], ARGV[1]) end
return 1
"""
# KEYS: ring, members set, last-take time. ARGV: prefix of the projects' lists, the time now. Rotates
# the ring one step and pops that project's oldest batch; a project with none left leaves the ring.
# Returns {project, batch}, and records the time of the take.
_TAKE = """
local length = redis.call('LLEN', KEYS[1])
for _ = 1, length do
  local project = redis.call('LMOVE', KEYS[1], KEYS[1], 'LEFT', 'RIGHT')
  if not project then return nil end
  local batch = redis.call('LPOP', ARGV[1] .. project)
  if batch then
    redis.call('SET', KEYS[3], ARGV[2])
    if redis.call('LLEN', ARGV[1] .. project) == 0 then
      redis.call('LREM', KEYS[1], 0, project)
      redis.call('SREM', KEYS[2], project)
    end
    return {project, batch}
  end
  redis.call('LREM', KEYS[1], 0, project)
  redis.call('SREM', KEYS[2], project)
end
return nil
"""


# How long a channel may go without a take before its waiting batches count as stuck (no task left
# to take them: a purge, or a broker that lost the tasks but not the batches).
STALLED_AFTER_SECONDS = 120


def _keys(channel: str) -> tuple[str, str, str]:
    return (
        redis_key("fair", channel, "ring"),
        redis_key("fair", channel, "members"),
        redis_key("fair", channel, "project") + ":",
    )


def _taken_at_key(channel: str) -> str:
    return redis_key("fair", channel, "taken_at")


def fair_push(project_id: int, channel: str, batches: Sequence[Sequence[int]]) -> bool:
    """Queue the batches on the project's sub-queue; False (logged) when Redis is unavailable."""
    if not batches:
        return True
    ring, members, prefix = _keys(channel)
    try:
        get_redis().eval(
            _PUSH,
            3,
            ring,
            members,
            f"{prefix}{project_id}",
            project_id,
            *[json.dumps(list(b)) for b in batches],
        )
    except redis.RedisError:
        logger.warning("fair queue unavailable; %s batches go in arrival order", len(batches), exc_info=True)
        return False
    return True


def fair_take(channel: str) -> tuple[int, list[int]] | None:
    """The next batch round robin across projects: (project id, message ids), or None."""
    ring, members, prefix = _keys(channel)
    try:
        taken = get_redis().eval(_TAKE, 3, ring, members, _taken_at_key(channel), prefix, int(time.time()))
    except redis.RedisError:
        logger.warning("fair queue unavailable; delivering the task's own batch", exc_info=True)
        return None
    if not taken:
        return None
    project_id, batch = taken
    return int(project_id), [int(message_id) for message_id in json.loads(batch)]


def projects_waiting(channels: Iterable[str]) -> set[int]:
    """The projects with batches still waiting their turn on any of `channels`, while that channel's
    tasks are taking batches (one taken within `STALLED_AFTER_SECONDS`): their queued messages are in
    a backlog, not lost. Empty when Redis is unavailable (then nothing counts as waiting)."""
    client = get_redis()
    waiting: set[int] = set()
    now = time.time()
    try:
        for channel in channels:
            taken_at = client.get(_taken_at_key(channel))
            if taken_at is None or now - int(taken_at) > STALLED_AFTER_SECONDS:
                continue
            waiting.update(int(project) for project in client.smembers(_keys(channel)[1]))
    except redis.RedisError:
        logger.warning(
            "fair queue unavailable; no project counts as working through a backlog", exc_info=True
        )
        return set()
    return waiting
