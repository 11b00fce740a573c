"""The delivery loop: claim messages a slice at a time, render each, call the channel, record what
happened.

At-least-once under a stable key. Messages are claimed (`queued`, or a due `deferred`, → `sending`)
by a conditional UPDATE that also checks their stream is open, so a pause or a close that happens
after materialisation still holds, and two tasks holding the same ids send each once. A slice of
up to `CLAIM_AT_ONCE` messages is claimed in the same round trip, and the same implicit transaction,
that writes earlier outcomes (attempt rows and new states): statements per slice, not per message.
Never more than one slice is sent but not recorded, so a killed worker resends at most that slice,
each message under its own key (its public id, the `webhook-id`):

- inline (inside a caller's transaction, or a batch of one slice), the round trip at the end of a
  slice writes its outcomes and claims the next slice;
- overlapping (a worker's batches), a writer thread with a connection of its own, kept across the
  calling thread's batches (messaging/outcome_writer.py), writes the outcomes every half slice
  while the next half is sent (one half in flight, one half being sent), and the next slice is
  claimed with them, ahead of its turn, so the sender rarely waits for the database. A batch's
  first claim travels while its other reads are made.

Beat reclaims what a crash left `sending`. Outcomes that need more (a final failure pauses the
stream and publishes events) are written at once, in a transaction of their own; every claim we
still hold is then renewed (claimed again, which checks the stream again) before anything else
goes. Claims that have waited long are renewed the same way, so that none gets old enough for the
sweep to hand it to another task while it waits its turn here.

Claims and outcome writes commit with `synchronous_commit = off`: a PostgreSQL crash may forget the
last few hundred milliseconds of them, which puts those messages back in the queue or leaves them
`sending` for the sweep: at worst a resend with the same key, the guarantee we give anyway.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer
from eventbus.services import publish_many
from messaging.channels import get_channel
from messaging.channels.base import Batch, Channel, Outcome, PermanentFailure, RenderFailed, Sent
from messaging.consent import UNSUBSCRIBED_REASON
from messaging.fairness import fair_take
from messaging.limits import has_limits, quota_take, send_rate, send_tokens_take
from messaging.models import CustomerConsent, Message, MessageAttempt, MessageStream, MessageTemplate
from messaging.outcome_writer import WITHOUT_WAITING_FOR_DISK, OutcomeWriter
from messaging.quiet_hours import QUIET_HOURS_REASON, stream_quiet_until
from messaging.rows import (
    TimeArrays,
    bool_array,
    instances_where,
    int_array,
    loaded,
    model_columns,
    text_array,
    time_array,
)
from messaging.services import MESSAGE_FAILED, _pause_streams
from tenancy.models import Project

logger = logging.getLogger(__name__)

Claim = tuple[int, datetime | None]  # attempts so far, first attempt time

# How many messages one round trip claims. Bigger slices save round trips; smaller ones resend less
# after a crash and notice a pause sooner. At 25 (outcomes written every 12) the sender waited for
# the writer's round trips: SMS and integration delivery ran at 64–69 % of a raw urllib3 loop; at 50
# at 70–81 % (docs/benchmarks.md, "SMS and integration delivery"). A crash resends at most 50, each
# under its own key.
CLAIM_AT_ONCE = 50

_RECORD_ATTEMPTS_SQL = """
INSERT INTO messaging_messageattempt (
    project_id, message_id, stream_id, channel, number, attempted_at, outcome, is_final, error,
    provider_id, status_code, duration_ms
)
SELECT %(project)s::bigint, * FROM unnest(
    %(a_message)s::bigint[], %(a_stream)s::bigint[], %(a_channel)s::text[], %(a_number)s::int[],
    %(a_attempted_at)s::timestamptz[], %(a_outcome)s::text[], %(a_is_final)s::bool[], %(a_error)s::text[],
    %(a_provider_id)s::text[], %(a_status_code)s::int[], %(a_duration_ms)s::int[]
);
"""

# The attempt row's columns in `_RECORD_ATTEMPTS_SQL`: (parameter, array literal of its values).
_ATTEMPT_ARRAYS = (
    ("a_message", int_array),
    ("a_stream", int_array),
    ("a_channel", text_array),
    ("a_number", int_array),
    ("a_attempted_at", time_array),
    ("a_outcome", text_array),
    ("a_is_final", bool_array),
    ("a_error", text_array),
    ("a_provider_id", text_array),
    ("a_status_code", int_array),
    ("a_duration_ms", int_array),
)

# Only while our claim holds (a sweep may have handed a message to another task): the claim time
# identifies it.
_RECORD_OUTCOMES_SQL = """
UPDATE messaging_message AS message SET
    state = outcome.state, attempts = outcome.attempts, first_attempt_at = outcome.first_attempt_at,
    next_attempt_at = outcome.next_attempt_at, last_error = outcome.last_error,
    sent_at = outcome.sent_at, recovered = outcome.recovered, claimed_at = NULL
FROM unnest(
    %(o_message)s::bigint[], %(o_state)s::text[], %(o_attempts)s::int[],
    %(o_first_attempt_at)s::timestamptz[], %(o_next_attempt_at)s::timestamptz[], %(o_last_error)s::text[],
    %(o_sent_at)s::timestamptz[], %(o_recovered)s::bool[], %(o_claimed_at)s::timestamptz[]
) AS outcome(id, state, attempts, first_attempt_at, next_attempt_at, last_error, sent_at, recovered,
             claimed_at)
WHERE message.id = outcome.id AND message.project_id = %(project)s AND message.state = 'sending'
  AND message.claimed_at = outcome.claimed_at;
"""

# Claims the due messages among `claim_ids`, and renews our claims on `renew_ids` (claimed at one
# of the times in `renew_since`); a renewed message whose stream closed meanwhile goes back to
# waiting, as it was.
#
# Its plan is generic (prepared once per connection) and must find the messages by id: with the
# statistics of an empty table, before a large send filled it, the planner believed a stream held a
# few rows and scanned all of the stream's messages for every claim (28 ms at 40,000 messages,
# seconds at 2,000,000). `messages_enqueue_select` analyzes the table after such a fill.
_CLAIM_SQL = """
WITH claimed AS (
    UPDATE messaging_message AS message SET state = 'sending', claimed_at = %(now)s
    FROM messaging_messagestream AS stream
    WHERE message.id = ANY(%(claim_ids)s::bigint[] || %(renew_ids)s::bigint[])
      AND message.project_id = %(project)s AND message.channel = %(channel)s
      AND stream.id = message.stream_id AND stream.state = 'open'
      AND (
        (message.id = ANY(%(claim_ids)s::bigint[]) AND (
            message.state = 'queued' OR (message.state = 'deferred' AND message.next_attempt_at <= %(now)s)
        ))
        OR (message.id = ANY(%(renew_ids)s::bigint[]) AND message.state = 'sending'
            AND message.claimed_at = ANY(%(renew_since)s::timestamptz[]))
      )
    RETURNING message.id, message.attempts, message.first_attempt_at
), released AS (
    UPDATE messaging_message AS message
    SET state = CASE WHEN message.attempts > 0 THEN 'deferred' ELSE 'queued' END, claimed_at = NULL
    WHERE message.project_id = %(project)s AND message.id = ANY(%(renew_ids)s::bigint[])
      AND message.state = 'sending' AND message.claimed_at = ANY(%(renew_since)s::timestamptz[])
      AND message.id NOT IN (SELECT id FROM claimed)
)
SELECT id, attempts, first_attempt_at FROM claimed;
"""


@dataclass
class MessageOutcome:
    message: Message
    state: str
    attempts: int
    first_attempt_at: datetime | None
    next_attempt_at: datetime | None = None
    last_error: str = ""
    sent_at: datetime | None = None
    recovered: bool = False
    # The attempt row's values in `_RECORD_ATTEMPTS_SQL`'s order; None when the message was not attempted.
    attempt: tuple | None = None
    attempt_outcome: str = ""
    claimed_at: datetime | None = None


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    skipped: int = 0
    # Why messages did not go now, counted by reason (each is also in `skipped` or `deferred`).
    unsubscribed: int = 0
    quiet_hours: int = 0
    rate_limited: int = 0
    blocked_limit: int = 0


@dataclass
class OutcomeRecorder:
    """Holds the outcome of the message just sent until it is written: with the next claim, or in a
    transaction of its own when it has effects beyond its rows (or the batch ends)."""

    project: Project
    channel: Channel
    batch: Batch
    report: DeliveryReport
    pending: list[MessageOutcome] = field(default_factory=list)
    # Whether `pending` holds a success or a final failure: asked after every message, so kept
    # rather than searched for.
    sent_pending: bool = False
    failed_pending: bool = False

    def add_outcome(
        self,
        message: Message,
        outcome: Outcome,
        *,
        attempts_before: int,
        first_attempt_at: datetime | None,
        attempted_at: datetime,
        claimed_at: datetime,
        duration_ms: int,
    ) -> None:
        number = attempts_before + 1
        first_attempt_at = first_attempt_at or attempted_at
        result = MessageOutcome(
            message=message,
            state="",
            attempts=number,
            first_attempt_at=first_attempt_at,
            claimed_at=claimed_at,
        )
        is_final = False
        if isinstance(outcome, Sent):
            result.state, result.sent_at = Message.State.SENT, attempted_at
            self.sent_pending = True
            # Every attempt before a success failed: a success after one makes the message recovered.
            result.recovered = attempts_before > 0
            # A failed attempt's error stays for the record; a hold's reason (quiet hours) does not.
            result.last_error = message.last_error if attempts_before else ""
            attempt_outcome = MessageAttempt.Outcome.SENT
            self.report.sent += 1
        else:
            result.last_error = outcome.error[:2000]
            retry_at = None
            if not isinstance(outcome, PermanentFailure):
                retry_at = self.channel.next_attempt_at(
                    first_attempt_at=first_attempt_at, attempted_at=attempted_at
                )
            if retry_at is not None:
                result.state, result.next_attempt_at = Message.State.DEFERRED, max(retry_at, attempted_at)
                self.report.deferred += 1
            else:
                result.state, is_final = Message.State.FAILED, True
                self.failed_pending = True
                self.report.failed += 1
            attempt_outcome = (
                MessageAttempt.Outcome.PERMANENT
                if isinstance(outcome, PermanentFailure)
                else MessageAttempt.Outcome.TRANSIENT
            )
        result.attempt_outcome = attempt_outcome
        # A row of `_RECORD_ATTEMPTS_SQL`'s arrays: a tuple, not a model instance, for speed.
        result.attempt = (
            message.pk,
            message.stream_id,
            message.channel,
            number,
            attempted_at,
            attempt_outcome,
            is_final,
            "" if isinstance(outcome, Sent) else outcome.error[:2000],
            outcome.provider_id if isinstance(outcome, Sent) else "",
            outcome.status_code,
            duration_ms,
        )
        self.pending.append(result)

    def add_skip(
        self, message: Message, reason: str, *, attempts_before: int, first_attempt_at, claimed_at: datetime
    ) -> None:
        self.report.skipped += 1
        self.add_hold(
            message,
            Message.State.SKIPPED,
            reason,
            attempts_before=attempts_before,
            first_attempt_at=first_attempt_at,
            claimed_at=claimed_at,
        )

    def add_hold(
        self,
        message: Message,
        state: str,
        reason: str,
        *,
        attempts_before: int,
        first_attempt_at,
        claimed_at: datetime,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """A message that does not go now and was not attempted (skipped, deferred or held): no
        attempt row, its attempt count unchanged."""
        self.pending.append(
            MessageOutcome(
                message=message,
                state=state,
                attempts=attempts_before,
                first_attempt_at=first_attempt_at,
                next_attempt_at=next_attempt_at,
                last_error=reason,
                claimed_at=claimed_at,
            )
        )

    def needs_own_transaction(self) -> bool:
        """A final failure, or a success the channel reacts to, is written at once with its effects."""
        return self.failed_pending or (self.sent_pending and self.channel.wants_on_sent(self.batch))

    def _clear_pending(self) -> None:
        self.pending, self.sent_pending, self.failed_pending = [], False, False

    def record_and_claim(
        self,
        writer: OutcomeWriter,
        *,
        claim_ids: list[int],
        renew_ids: list[int],
        renew_since: list[datetime],
        now: datetime,
    ) -> Future:
        """Write the pending outcomes, then claim `claim_ids` and renew `renew_ids` (claimed at one of
        `renew_since`), in one round trip through `writer`: resolves to message id → its claim, for
        the messages now ours."""
        params = {
            "project": self.project.pk,
            "channel": self.channel.name,
            "now": now,
            "claim_ids": int_array(claim_ids),
            "renew_ids": int_array(renew_ids),
            "renew_since": time_array(renew_since),
        }
        statements = self._pending_sql(params)
        if claim_ids or renew_ids:
            statements.append(_CLAIM_SQL)
        self._clear_pending()
        return writer.submit(statements, params)

    def _pending_sql(self, params: dict) -> list[str]:
        """The statements writing the pending outcomes, their parameters added to `params`."""
        if not self.pending:
            return []
        sql = []
        pending = self.pending
        times = TimeArrays()
        attempts = [o.attempt for o in pending if o.attempt is not None]
        if attempts:
            sql.append(_RECORD_ATTEMPTS_SQL)
            params.update(
                (name, times(column) if literal is time_array else literal(column))
                for (name, literal), column in zip(_ATTEMPT_ARRAYS, zip(*attempts, strict=True), strict=True)
            )
        sql.append(_RECORD_OUTCOMES_SQL)
        params.update(
            o_message=int_array(o.message.pk for o in pending),
            o_state=text_array(o.state for o in pending),
            o_attempts=int_array(o.attempts for o in pending),
            o_first_attempt_at=times(o.first_attempt_at for o in pending),
            o_next_attempt_at=times(o.next_attempt_at for o in pending),
            o_last_error=text_array(o.last_error for o in pending),
            o_sent_at=times(o.sent_at for o in pending),
            o_recovered=bool_array(o.recovered for o in pending),
            o_claimed_at=times(o.claimed_at for o in pending),
        )
        return sql

    def flush(self) -> None:
        """Write the pending outcomes now, in a transaction of their own with their effects."""
        if not self.pending:
            return
        pending = self.pending
        params: dict = {"project": self.project.pk}
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("".join([WITHOUT_WAITING_FOR_DISK, *self._pending_sql(params)]), params)
            self._clear_pending()
            if any(o.state == Message.State.SENT for o in pending) and self.channel.wants_on_sent(self.batch):
                self.channel.on_sent(batch=self.batch)
            failed = [o for o in pending if o.state == Message.State.FAILED]
            if failed:
                self._final_failures(failed)

    def _final_failures(self, failed: list[MessageOutcome]) -> None:
        failures = [(o.message, o.last_error) for o in failed]
        self.channel.on_final_failures(batch=self.batch, failures=failures)
        publish_many(
            self.project,
            MESSAGE_FAILED,
            [
                {
                    "customer": message.customer,
                    "refs": {"message": message.public_id, "stream": message.stream.public_id},
                    "data": {"owner": message.stream.owner, "channel": message.channel, "error": error},
                }
                for message, error in failures
            ],
        )
        if self.channel.final_failure_pauses_stream:
            reasons: dict[int, str] = {}
            for outcome in failed:
                retried = outcome.attempt_outcome == MessageAttempt.Outcome.TRANSIENT
                how = "failed after every retry" if retried else "could not be sent"
                reasons.setdefault(
                    outcome.message.stream_id,
                    f"A {outcome.message.channel} message {how}: {outcome.last_error}",
                )
            for stream_id, reason in reasons.items():
                _pause_streams(project=self.project, stream_ids=[stream_id], reason=reason)


class DeliveryPolicy:
    """What may stop a claimed message from going now, checked in this order: the customer's consent
    (skipped), the stream's quiet hours (deferred to their end), the channel's send rate (deferred
    until a token is due), the project's message limit (held as `blocked_limit`).

    Consent is read once per batch, with the batch's messages (`unsubscribed`: the customers who
    unsubscribed from the channel); the rate's tokens are taken from Redis a few at a time; the
    limit is counted per message, and only for a message's first attempt (a retry was counted).
    """

    TOKENS_AT_ONCE = 20

    def __init__(
        self, *, project: Project, channel: str, candidates: Sequence[Message], unsubscribed: set[int]
    ) -> None:
        self.project, self.channel = project, channel
        self.unsubscribed = unsubscribed
        self.rate_applies = send_rate(channel) is not None
        self.limits_apply = has_limits(project)
        self.tokens = 0
        self.remaining = len(candidates)

    def hold(
        self, message: Message, now: datetime, *, first_attempt: bool
    ) -> tuple[str, str, datetime | None, str] | None:
        """(state, reason, next attempt time, report counter) for a message that must not go now."""
        if message.customer_id in self.unsubscribed:
            return Message.State.SKIPPED, UNSUBSCRIBED_REASON, None, "unsubscribed"
        until = stream_quiet_until(message.stream, self.project, now)
        if until is not None:
            reason = QUIET_HOURS_REASON.format(until=until.isoformat())
            return Message.State.DEFERRED, reason, until, "quiet_hours"
        if self.rate_applies:
            if self.tokens == 0:
                wanted = max(1, min(self.remaining, self.TOKENS_AT_ONCE))
                self.tokens, wait = send_tokens_take(self.project, self.channel, wanted, now)
                if self.tokens == 0:
                    return Message.State.DEFERRED, RATE_REASON, now + wait, "rate_limited"
            self.tokens -= 1
        if self.limits_apply and first_attempt:
            reason = quota_take(self.project, now)
            if reason:
                return Message.State.BLOCKED_LIMIT, reason, None, "blocked_limit"
        return None


RATE_REASON = "Over the channel's send rate; deferred."


def messages_deliver_turn(*, project_id: int, channel: str, message_ids: Sequence[int]) -> DeliveryReport:
    """A delivery task's turn: the next batch round robin across projects (messaging.fairness), or
    the task's own batch when the fair queue has none.

    A batch with nothing left to claim (its task was lost and the sweep handed it over again, or a
    purge dropped the task but not the batch) does not count as the turn: the task takes the next.
    """
    report = DeliveryReport()
    for _ in range(STALE_BATCHES_PER_TURN):
        taken = fair_take(channel)
        if taken is None:
            break
        report = _deliver_batch_of(*taken, channel=channel)
        if report.claimed:
            return report
    return _deliver_batch_of(project_id, message_ids, channel=channel)


STALE_BATCHES_PER_TURN = 50


def _deliver_batch_of(project_id: int, message_ids: Sequence[int], *, channel: str) -> DeliveryReport:
    project = Project.objects.filter(pk=project_id).first()
    if project is None:  # deleted meanwhile, messages with it
        return DeliveryReport()
    return messages_deliver(project=project, channel=channel, message_ids=message_ids)


@dataclass
class ClaimedMessage:
    message_id: int
    attempts_before: int
    first_attempt_at: datetime | None
    claimed_at: datetime
    claimed_clock: float  # time.monotonic() at the claim, to tell when it needs renewing


def messages_deliver(*, project: Project, channel: str, message_ids: Sequence[int]) -> DeliveryReport:
    """Deliver the given messages of one project on one channel, each claimed before it is sent.

    Ids that are no longer due (sent, held by a paused stream, claimed by another task) are passed
    over, so running the same batch twice sends nothing twice. Before each send, `DeliveryPolicy`
    may skip, defer or hold the message instead.

    Inline (see `OutcomeWriter`), one statement per slice writes its outcomes and claims the next.
    Overlapping, outcomes are written every half slice while the next half is being sent (so at
    most a slice is ever sent but not recorded), and the next slice is claimed ahead with them.
    """
    plugin = get_channel(channel)
    report = DeliveryReport()
    writer = OutcomeWriter(overlapping=len(message_ids) > CLAIM_AT_ONCE and not connection.in_atomic_block)
    if writer.overlapping:
        record_every, claim_ahead_below = CLAIM_AT_ONCE // 2, CLAIM_AT_ONCE
    else:
        record_every, claim_ahead_below = CLAIM_AT_ONCE, 1
    # The first slice's claim travels (on the writer's connection) while the batch is loaded and its
    # other reads are made on ours: ids in the order they are loaded in, and the claim itself checks
    # that each is this project's, on this channel and due.
    first_slice = sorted(message_ids)[:CLAIM_AT_ONCE]
    claiming_at: tuple[datetime, float] | None = (timezone.now(), time.monotonic())
    claiming: Future | None = writer.submit(  # the claim of the next slice, under way
        [_CLAIM_SQL],
        {
            "project": project.pk,
            "channel": channel,
            "now": claiming_at[0],
            "claim_ids": int_array(first_slice),
            "renew_ids": "{}",
            "renew_since": "{}",
        },
    )
    try:
        candidates, unsubscribed = _load_candidates(
            project=project, channel=channel, message_ids=message_ids, claiming=first_slice
        )
        # Loaded are the due messages and those of the first slice being sent (by us, or by
        # another task): with none of the first kind, whether the batch has anything for us is the
        # claim's answer.
        if all(message.state == Message.State.SENDING for message in candidates) and not claiming.result():
            writer.close()
            return report
    except BaseException:
        with contextlib.suppress(Exception):  # the claim's own error would hide this one
            writer.close()
        raise
    by_id = {message.pk: message for message in candidates}
    claimed_first = set(first_slice)
    to_claim = [message.pk for message in candidates if message.pk not in claimed_first]
    queue: deque[ClaimedMessage] = deque()
    try:
        policy = DeliveryPolicy(
            project=project, channel=channel, candidates=candidates, unsubscribed=unsubscribed
        )
        batch = plugin.prepare(project=project, messages=candidates)
    except BaseException:
        with contextlib.suppress(Exception):  # the claim's own error would hide this one
            writer.close()
        raise
    recorder = OutcomeRecorder(project=project, channel=plugin, batch=batch, report=report)

    def write(*, claim: bool = False, renew: bool = False) -> None:
        """Submit the pending outcomes, with the next slice's claim or a renewal of every claim we
        hold (then waited for: what we may send depends on it)."""
        nonlocal to_claim, claiming, claiming_at, queue
        taking: list[int] = []
        if claim:
            taking, to_claim = to_claim[:CLAIM_AT_ONCE], to_claim[CLAIM_AT_ONCE:]
        renewing: list[ClaimedMessage] = []
        if renew:
            take_claimed()
            renewing, queue = list(queue), deque()
        now, clock = timezone.now(), time.monotonic()
        future = recorder.record_and_claim(
            writer,
            claim_ids=taking,
            renew_ids=[held.message_id for held in renewing],
            renew_since=list({held.claimed_at for held in renewing}),
            now=now,
        )
        if taking:
            claiming, claiming_at = future, (now, clock)
        if renewing:
            claims = future.result()
            queue.extend(
                ClaimedMessage(held.message_id, *claims[held.message_id], now, clock)
                for held in renewing
                if held.message_id in claims
            )

    def take_claimed() -> None:
        """Wait for the claim under way, if any; what it won joins the queue."""
        nonlocal claiming
        if claiming is None:
            return
        claims, claiming = claiming.result(), None
        report.claimed += len(claims)
        queue.extend(
            ClaimedMessage(message_id, *claims[message_id], *claiming_at) for message_id in sorted(claims)
        )

    # Renewed well before the sweep's threshold (twice the channel's timeout), since the message
    # being sent when a claim turns old may still take a whole timeout.
    renew_after = plugin.timeout / 2
    try:
        while True:
            # The last outcomes are left to the final flush.
            if len(recorder.pending) >= record_every and (queue or to_claim or claiming is not None):
                write(claim=bool(to_claim) and claiming is None and len(queue) < claim_ahead_below)
            if not queue:
                take_claimed()
            if not queue:
                if not to_claim:
                    break
                write(claim=True)
                continue
            if time.monotonic() - queue[0].claimed_clock > renew_after:
                write(renew=True)
                continue
            held = queue.popleft()
            policy.remaining -= 1
            _deliver_one(
                by_id[held.message_id],
                plugin=plugin,
                batch=batch,
                policy=policy,
                recorder=recorder,
                report=report,
                attempts_before=held.attempts_before,
                first_attempt_at=held.first_attempt_at,
                claimed_at=held.claimed_at,
            )
            if recorder.needs_own_transaction():
                writer.wait()
                recorder.flush()
                # The flush may have paused the stream: our other claims are renewed, which checks it.
                if queue or claiming is not None:
                    write(renew=True)
    finally:
        try:
            writer.wait()
            if recorder.needs_own_transaction():
                recorder.flush()
            elif recorder.pending:
                # Plain outcomes: one round trip, on the writer's connection when it has one.
                recorder.record_and_claim(
                    writer, claim_ids=[], renew_ids=[], renew_since=[], now=timezone.now()
                ).result()
        finally:
            writer.close()
            plugin.close(batch)
    return report


@cache
def _candidates_sql() -> str:
    """The one query loading a batch's due messages with their customers and streams."""
    # Names from the models' own metadata, values as parameters.
    return f"""
        SELECT {model_columns(Message, "message").select}, {model_columns(Customer, "customer").select},
               {model_columns(MessageStream, "stream").select},
               -- The customer's consent to the channel (messaging/consent.py: no row is subscribed).
               EXISTS (
                   SELECT FROM {CustomerConsent._meta.db_table} AS consent
                   WHERE consent.project_id = message.project_id
                     AND consent.customer_id = message.customer_id AND consent.channel = message.channel
                     AND consent.state = '{CustomerConsent.State.UNSUBSCRIBED}'
               ) AS unsubscribed
        FROM {Message._meta.db_table} AS message
        JOIN {Customer._meta.db_table} AS customer
          ON customer.id = message.customer_id AND customer.project_id = message.project_id
        JOIN {MessageStream._meta.db_table} AS stream
          ON stream.id = message.stream_id AND stream.project_id = message.project_id
        WHERE message.project_id = %(project)s AND message.id = ANY(%(ids)s::bigint[])
          AND message.channel = %(channel)s
          AND (message.state IN ('{Message.State.QUEUED}', '{Message.State.DEFERRED}')
               -- The batch's first slice may have been claimed (by us) before this read.
               OR (message.state = '{Message.State.SENDING}' AND message.id = ANY(%(claiming)s::bigint[])))
        ORDER BY message.id
    """  # noqa: S608


# Template versions are immutable (messaging/models.py): each is read once per process, not once
# per batch. Keyed by database too, since a test run creates its own.
_templates: dict[tuple[str, int, int], MessageTemplate] = {}
_TEMPLATES_KEPT = 500


def _batch_templates(project: Project, template_ids: set[int]) -> dict[int, MessageTemplate]:
    database = connection.settings_dict["NAME"]
    found = {}
    for template_id in template_ids:
        template = _templates.get((database, project.pk, template_id))
        if template is not None:
            found[template_id] = template
    missing = template_ids - set(found)
    if missing:
        if len(_templates) > _TEMPLATES_KEPT:
            _templates.clear()
        for template in instances_where(
            MessageTemplate,
            "row.project_id = %(project)s AND row.id = ANY(%(ids)s::bigint[])",
            {"project": project.pk, "ids": int_array(missing)},
        ):
            found[template.pk] = _templates[(database, project.pk, template.pk)] = template
    return found


def _load_candidates(
    *, project: Project, channel: str, message_ids: Sequence[int], claiming: Sequence[int]
) -> tuple[list[Message], set[int]]:
    """The batch's due messages (and those of `claiming` being sent) with their customer, template
    and stream attached, and the ids of their customers who unsubscribed from the channel: one
    query for the messages, customers, streams and consents, read as rows (the ORM's query building
    and instances cost more than the query); templates from this process's cache, or one query for
    those it lacks."""
    with connection.cursor() as cursor:
        cursor.execute(
            _candidates_sql(),
            {
                "project": project.pk,
                "ids": int_array(message_ids),
                "channel": channel,
                "claiming": int_array(claiming),
            },
        )
        rows = cursor.fetchall()
    if not rows:
        return [], set()
    message_columns, customer_columns = model_columns(Message, "message"), model_columns(Customer, "customer")
    stream_columns = model_columns(MessageStream, "stream")
    customer_from = len(message_columns.names)
    stream_from = customer_from + len(customer_columns.names)
    database = connection.alias
    candidates = []
    unsubscribed = set()
    streams: dict[int, MessageStream] = {}
    for row in rows:
        message = loaded(Message, message_columns, row[:customer_from], database)
        customer = loaded(Customer, customer_columns, row[customer_from:stream_from], database)
        # A batch shares a few streams: one instance each.
        stream = streams.get(message.stream_id)
        if stream is None:
            stream = streams[message.stream_id] = loaded(
                MessageStream, stream_columns, row[stream_from:-1], database
            )
        if row[-1]:
            unsubscribed.add(message.customer_id)
        cached = message._state.fields_cache
        cached["customer"], cached["stream"] = customer, stream
        candidates.append(message)
    templates = _batch_templates(project, {message.template_id for message in candidates})
    for message in candidates:
        message._state.fields_cache["template"] = templates[message.template_id]
    return candidates, unsubscribed


def _deliver_one(
    message: Message,
    *,
    plugin: Channel,
    batch: Batch,
    policy: DeliveryPolicy,
    recorder: OutcomeRecorder,
    report: DeliveryReport,
    attempts_before: int,
    first_attempt_at: datetime | None,
    claimed_at: datetime,
) -> None:
    """Skip, hold or send one claimed message, leaving its outcome with the recorder."""
    now = timezone.now()
    skip_reason = plugin.skip_reason(message, batch)
    if skip_reason:
        recorder.add_skip(
            message,
            skip_reason,
            attempts_before=attempts_before,
            first_attempt_at=first_attempt_at,
            claimed_at=claimed_at,
        )
        return
    held = policy.hold(message, now, first_attempt=attempts_before == 0)
    if held is not None:
        state, reason, next_attempt_at, counter = held
        setattr(report, counter, getattr(report, counter) + 1)
        if state == Message.State.SKIPPED:
            report.skipped += 1
        elif state == Message.State.DEFERRED:
            report.deferred += 1
        recorder.add_hold(
            message,
            state,
            reason,
            attempts_before=attempts_before,
            first_attempt_at=first_attempt_at,
            claimed_at=claimed_at,
            next_attempt_at=next_attempt_at,
        )
        return
    started = time.monotonic()
    try:
        outcome = plugin.send(plugin.render(message, batch), batch)
    except RenderFailed as error:
        outcome = PermanentFailure(str(error))
    recorder.add_outcome(
        message,
        outcome,
        attempts_before=attempts_before,
        first_attempt_at=first_attempt_at,
        attempted_at=now,
        claimed_at=claimed_at,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
