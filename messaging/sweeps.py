"""Beat's sweeps over every project's messages (operator code: cross-tenant by design).

- Due retries: `deferred` messages whose time has come go back to `queued` and to their queue.
- Stale claims: a message `sending` for more than twice its channel's timeout was claimed by a task
  that died; it goes back to `queued` (it may have been sent: the resend carries the same key).
- Orphans: a message `queued` for over a minute was never handed over (the broker was down at
  commit, or the task was lost); it is handed over again. Unless its project still has batches
  waiting on a fair queue that is moving (`fairness.projects_waiting`): a large send's messages wait
  their turn for many minutes, and handing each of them over again every sweep rewrote every
  waiting row and doubled the tasks, for nothing. The project's old queued messages are swept once
  its backlog is gone, or once the queue stops moving.

- Held too long: a message held by the project's message limit for more than 7 days fails.

Only messages of open streams are touched: a paused stream's messages wait for its resume.
Each sweep moves at most `SWEEP_LIMIT` rows per statement and loops within a time budget.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from messaging.channels import CHANNEL_CLASSES, get_channel
from messaging.fairness import projects_waiting
from messaging.limits import held_messages_expire
from messaging.services import enqueue_delivery

SWEEP_LIMIT = 5000
ORPHAN_AFTER = timedelta(minutes=1)
TIME_BUDGET_SECONDS = 8.0

_REQUEUE_SQL = """
UPDATE messaging_message AS message SET state = 'queued', queued_at = %(now)s, claimed_at = NULL
WHERE message.id IN (
    SELECT candidate.id FROM messaging_message AS candidate
    JOIN messaging_messagestream AS stream ON stream.id = candidate.stream_id AND stream.state = 'open'
    WHERE {condition}
    ORDER BY {order} LIMIT %(limit)s
    FOR UPDATE OF candidate SKIP LOCKED
)
RETURNING message.project_id, message.channel, message.id
"""

DUE_RETRIES = (
    "candidate.state = 'deferred' AND candidate.next_attempt_at <= %(now)s",
    "candidate.next_attempt_at",
)
ORPHANS = (
    "candidate.state = 'queued' AND candidate.queued_at < %(before)s"
    " AND candidate.project_id <> ALL(%(waiting)s::bigint[])",
    "candidate.queued_at",
)
STALE_CLAIMS = (
    "candidate.state = 'sending' AND candidate.channel = %(channel)s AND candidate.claimed_at < %(before)s",
    "candidate.claimed_at",
)


def _requeue(condition: tuple[str, str], params: dict) -> list[tuple[int, str, int]]:
    sql = _REQUEUE_SQL.format(condition=condition[0], order=condition[1])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, {**params, "limit": SWEEP_LIMIT})
        rows = cursor.fetchall()
    grouped: dict[tuple[int, str], list[int]] = defaultdict(list)
    for project_id, channel, message_id in rows:
        grouped[(project_id, channel)].append(message_id)
    for (project_id, channel), message_ids in grouped.items():
        enqueue_delivery(project_id, channel, sorted(message_ids))
    return rows


def _sweep(condition: tuple[str, str], params: dict, deadline: float) -> int:
    moved = 0
    while True:
        rows = _requeue(condition, params)
        moved += len(rows)
        if len(rows) < SWEEP_LIMIT or time.monotonic() > deadline:
            return moved


def messages_sweep(*, orphan_after: timedelta = ORPHAN_AFTER) -> dict[str, int]:
    """Run the three sweeps; returns how many messages each handed back to delivery.

    A message queued longer than `orphan_after` counts as lost with its hand-over. Handing one back
    that was not lost costs nothing but a task: its claim is conditional, so it is sent once.
    """
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    now = timezone.now()
    counts = {
        "due_retries": _sweep(DUE_RETRIES, {"now": now}, deadline),
        "orphans": _sweep(
            ORPHANS,
            {"now": now, "before": now - orphan_after, "waiting": sorted(projects_waiting(CHANNEL_CLASSES))},
            deadline,
        ),
        "stale_claims": 0,
        "expired_held": held_messages_expire(now=now, limit=SWEEP_LIMIT),
    }
    for channel_name in CHANNEL_CLASSES:
        stale_after = timedelta(seconds=2 * get_channel(channel_name).timeout)
        counts["stale_claims"] += _sweep(
            STALE_CLAIMS, {"now": now, "channel": channel_name, "before": now - stale_after}, deadline
        )
    return counts
