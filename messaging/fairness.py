"""Fair sharing of a channel's delivery workers between projects.

A delivery task is a turn, not a fixed batch: `enqueue_delivery` pushes each batch of ids onto its
project's own list in Redis (a sub-queue per channel and project) and sends one task per batch; a
task, when it runs, takes the next batch round robin across the projects that have work. So one
project's 2,000-message send (ten batches) and another's single automatic message (one batch)
alternate: the second is delivered after at most one batch per running task, not after the ten.

The task still carries its own batch: if Redis lost the sub-queues (a restart), or every batch was
already taken, it delivers its own ids, which are idempotent to deliver twice (claim-before-send).
Batches pushed without a task (a broker outage) are handed over again by the orphan sweep.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import redis

from tenancy.redis import get_redis, redis_key

logger = logging.getLogger(__name__)

# KEYS: ring, members set, project's list. ARGV: project id, batches (JSON) ...
_PUSH = """
for i = 2, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[i]) end
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then redis.call('RPUSH', KEYS[1], ARGV[1]) end
return 1
"""
# KEYS: ring, members set. ARGV: prefix of the projects' lists. Rotates the ring one step and pops
# that project's oldest batch; a project with none left leaves the ring. Returns {project, batch}.
_TAKE = """
local length = redis.call('LLEN', KEYS[1])
for _ = 1, length do
  local project = redis.call('LMOVE', KEYS[1], KEYS[1], 'LEFT', 'RIGHT')
  if not project then return nil end
  local batch = redis.call('LPOP', ARGV[1] .. project)
  if batch then
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


def _keys(channel: str) -> tuple[str, str, str]:
    return (
        redis_key("fair", channel, "ring"),
        redis_key("fair", channel, "members"),
        redis_key("fair", channel, "project") + ":",
    )


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
        taken = get_redis().eval(_TAKE, 2, ring, members, prefix)
    except redis.RedisError:
        logger.warning("fair queue unavailable; delivering the task's own batch", exc_info=True)
        return None
    if not taken:
        return None
    project_id, batch = taken
    return int(project_id), [int(message_id) for message_id in json.loads(batch)]
