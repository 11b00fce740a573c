"""Writes for messaging: streams, template versions, and materialising messages.

The owner of a stream (a distribution) calls these; delivery itself is in `messaging.delivery`, the
beat sweeps in `messaging.sweeps`. Messages are inserted set-based (`INSERT … SELECT … ON CONFLICT
DO NOTHING` on the unique cause key) and handed to the channel's delivery queue after commit, in
batches of ids.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from eventbus.services import publish
from messaging.channels import UnknownChannel, get_channel
from messaging.models import Message, MessageStream, MessageTemplate
from tenancy.ids import new_public_id
from tenancy.models import Project

logger = logging.getLogger(__name__)

DELIVERY_BATCH = 200  # message ids per delivery task
INSERT_BATCH = 5000  # rows per INSERT statement
STREAM_PAUSED = "message.stream.paused"
STREAM_RESUMED = "message.stream.resumed"
MESSAGE_FAILED = "message.failed_permanently"


# --- Streams ----------------------------------------------------------------------------------


def message_stream_open(*, project: Project, owner: str) -> MessageStream:
    """The stream of `owner` ("<object>:<public id>"), created open on first use."""
    if ":" not in owner:
        raise ValueError("A stream owner reads '<object>:<public id>', e.g. 'distribution:distr_…'.")
    stream = MessageStream.objects.for_project(project).filter(owner=owner).first()
    if stream is not None:
        return stream
    try:
        with transaction.atomic():
            return MessageStream.objects.create(
                project=project, owner=owner, public_id=new_public_id("mstr", 20)
            )
    except IntegrityError:  # created meanwhile by a concurrent caller
        return MessageStream.objects.for_project(project).get(owner=owner)


@transaction.atomic
def message_stream_pause(*, project: Project, stream: MessageStream, reason: str = "") -> bool:
    """Hold whatever the stream has not sent yet (retries included). True if it was open."""
    changed = _pause_streams(project=project, stream_ids=[stream.pk], reason=reason)
    stream.refresh_from_db()
    return bool(changed)


def _pause_streams(*, project: Project, stream_ids: Iterable[int], reason: str) -> list[MessageStream]:
    now = timezone.now()
    streams = list(
        MessageStream.objects.for_project(project)
        .select_for_update()
        .filter(pk__in=list(stream_ids), state=MessageStream.State.OPEN)
    )
    for stream in streams:
        stream.state, stream.paused_reason, stream.updated_at = MessageStream.State.PAUSED, reason, now
    MessageStream.objects.bulk_update(streams, ["state", "paused_reason", "updated_at"])
    for stream in streams:
        publish(
            project,
            STREAM_PAUSED,
            refs={"stream": stream.public_id},
            data={"owner": stream.owner, "reason": reason},
        )
    return streams


@transaction.atomic
def message_stream_resume(*, project: Project, stream: MessageStream) -> int:
    """Open a paused stream and hand its held messages to delivery; returns how many."""
    now = timezone.now()
    changed = (
        MessageStream.objects.for_project(project)
        .filter(pk=stream.pk, state=MessageStream.State.PAUSED)
        .update(state=MessageStream.State.OPEN, paused_reason="", updated_at=now)
    )
    stream.refresh_from_db()
    if not changed:
        return 0
    publish(project, STREAM_RESUMED, refs={"stream": stream.public_id}, data={"owner": stream.owner})
    # Held messages go back to the queue; retries not yet due keep their time.
    with connection.cursor() as cursor:
        cursor.execute(_RELEASE_HELD_SQL, [now, project.pk, stream.pk, now])
        rows = cursor.fetchall()
    _enqueue_after_commit(project, rows)
    return len(rows)


_RELEASE_HELD_SQL = """
UPDATE messaging_message SET state = 'queued', queued_at = %s
WHERE project_id = %s AND stream_id = %s
  AND (state = 'queued' OR (state = 'deferred' AND next_attempt_at <= %s))
RETURNING channel, id
"""


@transaction.atomic
def message_stream_close(*, project: Project, stream: MessageStream, reason: str = "") -> int:
    """Close the stream for good: messages not sent yet are skipped with the reason. Returns how many."""
    now = timezone.now()
    MessageStream.objects.for_project(project).filter(pk=stream.pk).update(
        state=MessageStream.State.CLOSED, paused_reason=reason, updated_at=now
    )
    stream.refresh_from_db()
    return (
        Message.objects.for_project(project)
        .filter(
            stream=stream,
            state__in=[Message.State.QUEUED, Message.State.DEFERRED, Message.State.BLOCKED_LIMIT],
        )
        .update(state=Message.State.SKIPPED, last_error=f"Canceled: {reason}" if reason else "Canceled.")
    )


_REPLAY_FAILED_SQL = """
UPDATE messaging_message SET state = 'queued', queued_at = %s, first_attempt_at = NULL,
    next_attempt_at = NULL
WHERE project_id = %s AND stream_id = %s AND state = 'failed'
  AND (%s::timestamptz IS NULL OR queued_at >= %s)
RETURNING channel, id
"""


@transaction.atomic
def message_stream_replay_failed(*, project: Project, stream: MessageStream, since=None) -> int:
    """Send again what failed for good (e.g. while an endpoint was down); returns how many.

    The retry schedule starts over; a replayed message that arrives counts as recovered.
    """
    with connection.cursor() as cursor:
        cursor.execute(_REPLAY_FAILED_SQL, [timezone.now(), project.pk, stream.pk, since, since])
        rows = cursor.fetchall()
    if stream.state == MessageStream.State.OPEN:
        _enqueue_after_commit(project, rows)
    return len(rows)


# --- Templates --------------------------------------------------------------------------------


@transaction.atomic
def message_template_create(*, project: Project, channel: str, content: Mapping[str, Any]) -> MessageTemplate:
    """Save a new immutable template version; the channel validates it (variables included).

    Raises `ValidationError` naming each problem (unknown variables, a missing endpoint, ...).
    """
    try:
        plugin = get_channel(channel)
    except UnknownChannel as error:
        raise ValidationError({"channel": str(error)}) from None
    normalised = plugin.validate_content(project=project, content=dict(content))
    return MessageTemplate.objects.create(
        project=project, channel=channel, content=normalised, public_id=new_public_id("mtpl", 20)
    )


# --- Materialising messages ------------------------------------------------------------------


@dataclass(frozen=True)
class MessageRow:
    """One message to create: whose, why (the cause key), its per-message variables, and a skip
    reason when it is known up front that it cannot go (e.g. no email address)."""

    customer_id: int
    cause_key: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    skip_reason: str = ""


@dataclass
class EnqueueResult:
    created: int = 0
    queued_ids: list[int] = field(default_factory=list)
    skipped: int = 0


_INSERT_HEAD = """
INSERT INTO messaging_message (
    project_id, public_id, stream_id, channel, customer_id, cause_key, template_id, variables,
    state, attempts, last_error, recovered, created_at, queued_at
)
SELECT %(project)s, 'msg_' || replace(gen_random_uuid()::text, '-', ''), %(stream)s, %(channel)s,
       rows.customer_id, rows.cause_key, %(template)s, rows.variables,
       CASE WHEN rows.skip_reason = '' THEN 'queued' ELSE 'skipped' END, 0, rows.skip_reason, false,
       %(now)s, %(now)s
"""
# Customers are joined inside the project: a row naming another project's customer creates nothing.
_INSERT_TAIL = """
JOIN customers_customer customer ON customer.id = rows.customer_id AND customer.project_id = %(project)s
ON CONFLICT (project_id, stream_id, channel, customer_id, cause_key) DO NOTHING
RETURNING id, state
"""
_ROWS_FROM_ARRAYS = """
FROM unnest(%(customer_ids)s::bigint[], %(cause_keys)s::text[], %(variables)s::text[]::jsonb[],
            %(skip_reasons)s::text[]) AS rows(customer_id, cause_key, variables, skip_reason)
"""


def _check_parts(project: Project, stream: MessageStream, channel: str, template: MessageTemplate) -> None:
    get_channel(channel)
    if stream.project_id != project.pk or template.project_id != project.pk:
        raise ValueError("The stream and the template must belong to the project.")
    if template.channel != channel:
        raise ValueError(f"A {template.channel} template cannot render {channel} messages.")
    if stream.state == MessageStream.State.CLOSED:
        raise ValueError(f"The stream of {stream.owner} is closed: it takes no new messages.")


def _insert(
    params: dict[str, Any], rows_source: str, extra_params: Sequence[Any] = ()
) -> list[tuple[int, str]]:
    sql = _INSERT_HEAD + rows_source + _INSERT_TAIL
    with connection.cursor() as cursor:
        if extra_params:
            # A caller's SELECT brings positional parameters; bind them first, then ours by name.
            sql = cursor.mogrify(rows_source, list(extra_params)).decode().replace("%", "%%")
            sql = _INSERT_HEAD + sql + _INSERT_TAIL
        cursor.execute(sql, params)
        return cursor.fetchall()


def _record(result: EnqueueResult, inserted: list[tuple[int, str]]) -> None:
    result.created += len(inserted)
    for message_id, state in inserted:
        if state == Message.State.QUEUED:
            result.queued_ids.append(message_id)
        else:
            result.skipped += 1


def messages_enqueue(
    *,
    project: Project,
    stream: MessageStream,
    channel: str,
    template: MessageTemplate,
    rows: Iterable[MessageRow],
) -> EnqueueResult:
    """Create the messages that do not exist yet (unique on stream, channel, customer and cause
    key) and hand the queued ones to delivery after the caller's transaction commits.

    Enqueueing the same rows twice creates nothing the second time.
    """
    _check_parts(project, stream, channel, template)
    result = EnqueueResult()
    base = {"project": project.pk, "stream": stream.pk, "channel": channel, "template": template.pk}
    chunk: list[MessageRow] = []

    def flush() -> None:
        params = {
            **base,
            "now": timezone.now(),
            "customer_ids": [row.customer_id for row in chunk],
            "cause_keys": [row.cause_key for row in chunk],
            "variables": [json.dumps(dict(row.variables or {}), default=str) for row in chunk],
            "skip_reasons": [row.skip_reason or "" for row in chunk],
        }
        _record(result, _insert(params, _ROWS_FROM_ARRAYS))
        chunk.clear()

    with transaction.atomic():
        for row in rows:
            chunk.append(row)
            if len(chunk) >= INSERT_BATCH:
                flush()
        if chunk:
            flush()
        _enqueue_after_commit(project, [(channel, message_id) for message_id in result.queued_ids])
    return result


def messages_enqueue_select(
    *,
    project: Project,
    stream: MessageStream,
    channel: str,
    template: MessageTemplate,
    select_sql: str,
    params: Sequence[Any] = (),
) -> EnqueueResult:
    """Like `messages_enqueue`, with the rows coming from the caller's own SQL: a SELECT returning
    `customer_id, cause_key, variables (jsonb), skip_reason (text, '' to send)`, e.g. an audience
    joined with its publications. One `INSERT … SELECT` per call: the caller batches."""
    _check_parts(project, stream, channel, template)
    base = {
        "project": project.pk,
        "stream": stream.pk,
        "channel": channel,
        "template": template.pk,
        "now": timezone.now(),
    }
    rows_source = f"FROM ({select_sql}) AS rows(customer_id, cause_key, variables, skip_reason)"
    result = EnqueueResult()
    with transaction.atomic():
        _record(result, _insert(base, rows_source, params))
        if len(result.queued_ids) >= ANALYZE_AFTER_ROWS:
            transaction.on_commit(lambda: _analyze_if_outgrown(len(result.queued_ids)))
        _enqueue_after_commit(project, [(channel, message_id) for message_id in result.queued_ids])
    return result


# A batch this large, into a table the planner believes smaller than the batch alone, gets the table
# analyzed once it commits, before its delivery starts. Plans made with the statistics of the table
# before a large send (empty, say) scan a whole stream or state for every claim of 25 messages;
# autovacuum's own analyze may come minutes later, or never where it is off.
ANALYZE_AFTER_ROWS = 5000


def _analyze_if_outgrown(inserted: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'messaging_message'::regclass")
        (believed,) = cursor.fetchone()
        if believed < inserted:
            cursor.execute("ANALYZE messaging_message")


# --- Handing messages to delivery -------------------------------------------------------------


def _enqueue_after_commit(project: Project, rows: Iterable[tuple[str, int]]) -> None:
    by_channel: dict[str, list[int]] = {}
    for channel, message_id in rows:
        by_channel.setdefault(channel, []).append(message_id)
    for channel, message_ids in by_channel.items():
        transaction.on_commit(
            lambda channel=channel, message_ids=message_ids: enqueue_delivery(
                project.pk, channel, message_ids
            )
        )


def enqueue_delivery(project_id: int, channel: str, message_ids: Sequence[int]) -> int:
    """Send delivery tasks, a batch of ids each, to the channel's queue; returns how many tasks.

    A broker outage is logged, not raised: the messages are committed as `queued`, and the beat
    sweep hands over any queued for more than a minute.
    """
    from config.celery import app
    from messaging.fairness import fair_push

    task_name = get_channel(channel).task_name
    batches = [
        list(message_ids[start : start + DELIVERY_BATCH])
        for start in range(0, len(message_ids), DELIVERY_BATCH)
    ]
    # Each task takes the next batch round robin across projects (messaging.fairness).
    fair_push(project_id, channel, batches)
    sent = 0
    try:
        # One producer for all the batches, and a short `argsrepr`: a million-customer send hands over
        # thousands of tasks, and Celery's default repr of 200 ids per task cost more than the publish.
        with app.producer_or_acquire() as producer:
            for batch in batches:
                app.send_task(
                    task_name,
                    args=[project_id, channel, batch],
                    retry=False,
                    producer=producer,
                    argsrepr=f"[{project_id}, {channel!r}, <{len(batch)} message ids>]",
                )
                sent += 1
    except Exception:  # the broker being down must not undo work that already committed
        logger.warning(
            "%s %s messages not enqueued; the sweep will hand them over",
            len(message_ids) - sent * DELIVERY_BATCH,
            channel,
            exc_info=True,
        )
    return sent
