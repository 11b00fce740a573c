"""The delivery loop: claim each message, render it, call the channel, record what happened.

At-least-once under a stable key. A message is claimed (`queued`, or a due `deferred`, → `sending`)
by one conditional UPDATE that also checks its stream is open, so a pause or a close that happens
after materialisation still holds, and two tasks holding the same id send it once. A message's
outcome (its attempt row and new state) is written in the same round trip, and the same implicit
transaction, as the claim of the next one: one statement batch per message, and never more than one
message sent but not recorded, so a killed worker resends at most one message, under the same key
(its public id, the `webhook-id`). Beat reclaims what a crash left `sending`. Outcomes that need
more (a final failure pauses the stream and publishes events) are written at once, in a transaction
of their own.

Claims and outcome writes commit with `synchronous_commit = off`: a PostgreSQL crash may forget the
last few hundred milliseconds of them, which puts those messages back in the queue or leaves them
`sending` for the sweep: at worst a resend with the same key, the guarantee we give anyway.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from eventbus.services import publish_many
from messaging.channels import get_channel
from messaging.channels.base import Batch, Channel, Outcome, PermanentFailure, RenderFailed, Sent
from messaging.consent import UNSUBSCRIBED_REASON, unsubscribed_customer_ids
from messaging.fairness import fair_take
from messaging.limits import has_limits, quota_take, send_rate, send_tokens_take
from messaging.models import Message, MessageAttempt, MessageStream, MessageTemplate
from messaging.quiet_hours import QUIET_HOURS_REASON, stream_quiet_until
from messaging.services import MESSAGE_FAILED, _pause_streams
from tenancy.models import Project

logger = logging.getLogger(__name__)

Claim = tuple[int, datetime | None]  # attempts so far, first attempt time

_WITHOUT_WAITING_FOR_DISK = "SET LOCAL synchronous_commit TO OFF;"

# The per-message statements are prepared once per database connection: planning them again for
# every message cost more than running them (measured: about 0.5 ms of planning each under load).
_PREPARED_STATEMENTS = {
    "messaging_claim": (
        "(bigint, bigint, timestamptz)",
        """
        UPDATE messaging_message AS message SET state = 'sending', claimed_at = $3
        FROM messaging_messagestream AS stream
        WHERE message.id = $1 AND message.project_id = $2
          AND stream.id = message.stream_id AND stream.state = 'open'
          AND (message.state = 'queued' OR (message.state = 'deferred' AND message.next_attempt_at <= $3))
        RETURNING message.attempts, message.first_attempt_at
        """,
    ),
    "messaging_record_attempt": (
        "(bigint, bigint, bigint, text, int, timestamptz, text, boolean, text, text, int, int)",
        """
        INSERT INTO messaging_messageattempt (
            project_id, message_id, stream_id, channel, number, attempted_at, outcome, is_final, error,
            provider_id, status_code, duration_ms
        ) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        """,
    ),
    "messaging_record_outcome": (
        "(bigint, bigint, text, int, timestamptz, timestamptz, text, timestamptz, boolean, timestamptz)",
        # Only while our claim holds (a sweep may have handed the message to another task): the
        # claim time identifies it, and keeps the plan on the primary key instead of the partial
        # index of all `sending` rows.
        """
        UPDATE messaging_message SET
            state = $3, attempts = $4, first_attempt_at = $5, next_attempt_at = $6, last_error = $7,
            sent_at = $8, recovered = $9, claimed_at = NULL
        WHERE id = $1 AND project_id = $2 AND state = 'sending' AND claimed_at = $10
        """,
    ),
}
_CLAIM_SQL = "EXECUTE messaging_claim(%(id)s, %(project)s, %(now)s);"
_RECORD_ATTEMPT_SQL = (
    "EXECUTE messaging_record_attempt(%(project)s, %(a_message)s, %(a_stream)s, %(a_channel)s, %(a_number)s,"
    " %(a_attempted_at)s, %(a_outcome)s, %(a_is_final)s, %(a_error)s, %(a_provider_id)s, %(a_status_code)s,"
    " %(a_duration_ms)s);"
)
_RECORD_OUTCOME_SQL = (
    "EXECUTE messaging_record_outcome(%(o_message)s, %(project)s, %(o_state)s, %(o_attempts)s,"
    " %(o_first_attempt_at)s, %(o_next_attempt_at)s, %(o_last_error)s, %(o_sent_at)s, %(o_recovered)s,"
    " %(o_claimed_at)s);"
)
_prepared_on = threading.local()


def _prepare_statements() -> None:
    """Prepare the per-message statements on this thread's connection, once per connection.

    Prepared statements belong to the session and survive rollbacks; a new connection (after a
    reconnect) is a new object, so it is prepared again.
    """
    connection.ensure_connection()
    raw = connection.connection
    if getattr(_prepared_on, "connection", None) is raw:
        return
    with raw.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'messaging_%'")
        existing = {name for (name,) in cursor.fetchall()}
        for name, (types, sql) in _PREPARED_STATEMENTS.items():
            if name not in existing:
                cursor.execute(f"PREPARE {name} {types} AS {sql}")
    _prepared_on.connection = raw


_OUTCOME_SQL = """
UPDATE messaging_message SET
    state = %(o_state)s, attempts = %(o_attempts)s, first_attempt_at = %(o_first_attempt_at)s,
    next_attempt_at = %(o_next_attempt_at)s, last_error = %(o_last_error)s, sent_at = %(o_sent_at)s,
    recovered = %(o_recovered)s, claimed_at = NULL
WHERE id = %(o_message)s AND project_id = %(project)s AND state = 'sending';
"""

_OUTCOME_SQL = """
UPDATE messaging_message AS message SET
    state = outcome.state, attempts = outcome.attempts, first_attempt_at = outcome.first_attempt_at,
    next_attempt_at = outcome.next_attempt_at, last_error = outcome.last_error,
    sent_at = outcome.sent_at, recovered = outcome.recovered, claimed_at = NULL
FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::timestamptz[], %s::timestamptz[], %s::text[],
            %s::timestamptz[], %s::bool[], %s::timestamptz[])
     AS outcome(id, state, attempts, first_attempt_at, next_attempt_at, last_error, sent_at, recovered,
                claimed_at)
WHERE message.id = outcome.id AND message.project_id = %s AND message.state = 'sending'
  AND message.claimed_at = outcome.claimed_at
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
    attempt: MessageAttempt | None = None
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

    def add_outcome(
        self,
        message: Message,
        outcome: Outcome,
        *,
        attempts_before: int,
        first_attempt_at: datetime | None,
        attempted_at: datetime,
        duration_ms: int,
    ) -> None:
        number = attempts_before + 1
        first_attempt_at = first_attempt_at or attempted_at
        result = MessageOutcome(
            message=message,
            state="",
            attempts=number,
            first_attempt_at=first_attempt_at,
            claimed_at=attempted_at,
        )
        is_final = False
        if isinstance(outcome, Sent):
            result.state, result.sent_at = Message.State.SENT, attempted_at
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
                self.report.failed += 1
            attempt_outcome = (
                MessageAttempt.Outcome.PERMANENT
                if isinstance(outcome, PermanentFailure)
                else MessageAttempt.Outcome.TRANSIENT
            )
        result.attempt = MessageAttempt(
            project=self.project,
            message_id=message.pk,
            stream_id=message.stream_id,
            channel=message.channel,
            number=number,
            attempted_at=attempted_at,
            outcome=attempt_outcome,
            is_final=is_final,
            error="" if isinstance(outcome, Sent) else outcome.error[:2000],
            provider_id=outcome.provider_id if isinstance(outcome, Sent) else "",
            status_code=outcome.status_code,
            duration_ms=duration_ms,
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
        return any(o.state == Message.State.FAILED for o in self.pending) or (
            any(o.state == Message.State.SENT for o in self.pending)
            and self.channel.wants_on_sent(self.batch)
        )

    def record_and_claim(self, message_id: int, now: datetime) -> Claim | None:
        """Write the pending outcome (at most one) and claim the next message, in one round trip."""
        sql, params = [_WITHOUT_WAITING_FOR_DISK], {"project": self.project.pk, "now": now, "id": message_id}
        for outcome in self.pending:
            if outcome.attempt is not None:
                sql.append(_RECORD_ATTEMPT_SQL)
                params.update(_attempt_params(outcome.attempt))
            sql.append(_RECORD_OUTCOME_SQL)
            params.update(_outcome_params(outcome))
        sql.append(_CLAIM_SQL)
        with connection.cursor() as cursor:
            cursor.execute("".join(sql), params)
            claimed = cursor.fetchone()
        self.pending = []
        return claimed

    def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
                MessageAttempt.objects.bulk_create([o.attempt for o in pending if o.attempt is not None])
                cursor.execute(
                    _OUTCOME_SQL,
                    [
                        [o.message.pk for o in pending],
                        [o.state for o in pending],
                        [o.attempts for o in pending],
                        [o.first_attempt_at for o in pending],
                        [o.next_attempt_at for o in pending],
                        [o.last_error for o in pending],
                        [o.sent_at for o in pending],
                        [o.recovered for o in pending],
                        [o.claimed_at for o in pending],
                        self.project.pk,
                    ],
                )
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
                retried = (
                    outcome.attempt is not None
                    and outcome.attempt.outcome == MessageAttempt.Outcome.TRANSIENT
                )
                how = "failed after every retry" if retried else "could not be sent"
                reasons.setdefault(
                    outcome.message.stream_id,
                    f"A {outcome.message.channel} message {how}: {outcome.last_error}",
                )
            for stream_id, reason in reasons.items():
                _pause_streams(project=self.project, stream_ids=[stream_id], reason=reason)


def _attempt_params(attempt: MessageAttempt) -> dict:
    return {
        "a_message": attempt.message_id,
        "a_stream": attempt.stream_id,
        "a_channel": attempt.channel,
        "a_number": attempt.number,
        "a_attempted_at": attempt.attempted_at,
        "a_outcome": attempt.outcome,
        "a_is_final": attempt.is_final,
        "a_error": attempt.error,
        "a_provider_id": attempt.provider_id,
        "a_status_code": attempt.status_code,
        "a_duration_ms": attempt.duration_ms,
    }


def _outcome_params(outcome: MessageOutcome) -> dict:
    return {
        "o_message": outcome.message.pk,
        "o_state": outcome.state,
        "o_attempts": outcome.attempts,
        "o_first_attempt_at": outcome.first_attempt_at,
        "o_next_attempt_at": outcome.next_attempt_at,
        "o_last_error": outcome.last_error,
        "o_sent_at": outcome.sent_at,
        "o_recovered": outcome.recovered,
        "o_claimed_at": outcome.claimed_at,
    }


class DeliveryPolicy:
    """What may stop a claimed message from going now, checked in this order: the customer's consent
    (skipped), the stream's quiet hours (deferred to their end), the channel's send rate (deferred
    until a token is due), the project's message limit (held as `blocked_limit`).

    Consent is read once per batch; the rate's tokens are taken from Redis a few at a time; the
    limit is counted per message, and only for a message's first attempt (a retry was counted).
    """

    TOKENS_AT_ONCE = 20

    def __init__(self, *, project: Project, channel: str, candidates: Sequence[Message]) -> None:
        self.project, self.channel = project, channel
        self.unsubscribed = unsubscribed_customer_ids(
            project=project, channel=channel, customer_ids={m.customer_id for m in candidates}
        )
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


def messages_deliver(*, project: Project, channel: str, message_ids: Sequence[int]) -> DeliveryReport:
    """Deliver the given messages of one project on one channel, each claimed before it is sent.

    Ids that are no longer due (sent, held by a paused stream, claimed by another task) are passed
    over, so running the same batch twice sends nothing twice. Before each send, `DeliveryPolicy`
    may skip, defer or hold the message instead.
    """
    plugin = get_channel(channel)
    report = DeliveryReport()
    candidates = list(
        Message.objects.for_project(project)
        .filter(
            pk__in=list(message_ids),
            channel=channel,
            state__in=[Message.State.QUEUED, Message.State.DEFERRED],
        )
        .select_related("customer")
        .order_by("pk")
    )
    if not candidates:
        return report
    # A batch shares a few templates and streams: load each once, not once per message.
    templates = MessageTemplate.objects.for_project(project).in_bulk({m.template_id for m in candidates})
    streams = MessageStream.objects.for_project(project).in_bulk({m.stream_id for m in candidates})
    for message in candidates:
        message.template, message.stream = templates[message.template_id], streams[message.stream_id]
    policy = DeliveryPolicy(project=project, channel=channel, candidates=candidates)
    batch = plugin.prepare(project=project, messages=candidates)
    _prepare_statements()
    recorder = OutcomeRecorder(project=project, channel=plugin, batch=batch, report=report)
    try:
        for message in candidates:
            policy.remaining -= 1
            now = timezone.now()
            claimed = recorder.record_and_claim(message.pk, now)
            if claimed is None:
                continue
            report.claimed += 1
            attempts_before, first_attempt_at = claimed
            skip_reason = plugin.skip_reason(message, batch)
            if skip_reason:
                recorder.add_skip(
                    message,
                    skip_reason,
                    attempts_before=attempts_before,
                    first_attempt_at=first_attempt_at,
                    claimed_at=now,
                )
                continue
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
                    claimed_at=now,
                    next_attempt_at=next_attempt_at,
                )
                continue
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
                duration_ms=int((time.monotonic() - started) * 1000),
            )
            if recorder.needs_own_transaction():
                recorder.flush()
    finally:
        recorder.flush()
        plugin.close(batch)
    return report
