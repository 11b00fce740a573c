"""Folding the tally rows that the triggers append (migration 0004) into one compact row per group.

Reads are exact whether or not this has run: they sum every row of a group. Compaction only keeps
the number of rows a read sums small (a stream's rows once compacted: a few per state and channel,
one per quarter hour with attempts or skipped messages), and it is safe to run at any time, twice at
once, or to crash: one statement per table moves a batch of fresh rows into the compact rows, and a
second run waits for the first's advisory lock or finds nothing left to move.
"""

from __future__ import annotations

from django.db import connection, transaction

# One compaction at a time across every process: two would each wait on the other's compact rows.
COMPACTION_LOCK = 7_400_401
BATCH = 50_000


# The rows of streams deleted since are dropped (joined away) rather than compacted.
COMPACT_MESSAGES = """
WITH moved AS (
    DELETE FROM messaging_messagestatetally
    WHERE id IN (SELECT id FROM messaging_messagestatetally WHERE NOT is_compact LIMIT %(batch)s)
    RETURNING project_id, stream_id, state, channel, recovered, reason, created_in, count
), folded AS (
INSERT INTO messaging_messagestatetally (project_id, stream_id, state, channel, recovered, reason,
    created_in, count, is_compact)
SELECT moved.project_id, moved.stream_id, moved.state, moved.channel, moved.recovered, moved.reason,
    moved.created_in, sum(moved.count), true
FROM moved JOIN messaging_messagestream stream ON stream.id = moved.stream_id
GROUP BY moved.project_id, moved.stream_id, moved.state, moved.channel, moved.recovered, moved.reason,
    moved.created_in
ON CONFLICT (project_id, stream_id, state, channel, recovered, reason, created_in) WHERE is_compact
DO UPDATE SET count = messaging_messagestatetally.count + excluded.count
RETURNING 1
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM folded)
"""
COMPACT_ATTEMPTS = """
WITH moved AS (
    DELETE FROM messaging_attempttally
    WHERE id IN (SELECT id FROM messaging_attempttally WHERE NOT is_compact LIMIT %(batch)s)
    RETURNING project_id, stream_id, bucket, channel, attempts, sent, failed, recovered
), folded AS (
INSERT INTO messaging_attempttally (project_id, stream_id, bucket, channel, attempts, sent, failed,
    recovered, is_compact)
SELECT moved.project_id, moved.stream_id, moved.bucket, moved.channel, sum(moved.attempts), sum(moved.sent),
    sum(moved.failed), sum(moved.recovered), true
FROM moved JOIN messaging_messagestream stream ON stream.id = moved.stream_id
GROUP BY moved.project_id, moved.stream_id, moved.bucket, moved.channel
ON CONFLICT (project_id, stream_id, bucket, channel) WHERE is_compact
DO UPDATE SET attempts = messaging_attempttally.attempts + excluded.attempts,
    sent = messaging_attempttally.sent + excluded.sent,
    failed = messaging_attempttally.failed + excluded.failed,
    recovered = messaging_attempttally.recovered + excluded.recovered
RETURNING 1
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM folded)
"""


def tallies_compact(*, max_batches: int = 20) -> dict[str, int]:
    """Fold fresh tally rows (every project's: operator code) into the compact rows; how many moved."""
    moved = {"messages": 0, "attempts": 0}
    for name, statement in (("messages", COMPACT_MESSAGES), ("attempts", COMPACT_ATTEMPTS)):
        for _ in range(max_batches):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [COMPACTION_LOCK])
                if not cursor.fetchone()[0]:
                    return moved
                cursor.execute(statement, {"batch": BATCH})
                rows, _groups = cursor.fetchone()
            moved[name] += rows
            if rows < BATCH:
                break
    return moved
