"""Messages, their attempts, the streams that own them, and the template versions they render.

Messaging knows nothing of distributions: a distribution owns a `MessageStream` (its `owner` label
reads `distribution:<public id>`) and delivery only asks the stream whether it is open. Message rows
stay narrow (no rendered bodies): a message points at the immutable template version it renders and
carries the few per-customer values (the code, the publication, the event) in `variables`.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenancy.scoping import TenantModel


class MessageStream(TenantModel):
    """Everything one owner (a distribution) sends; pausing it holds whatever has not gone yet."""

    class State(models.TextChoices):
        OPEN = "open"
        PAUSED = "paused"
        CLOSED = "closed"

    public_id = models.CharField(max_length=40, editable=False)
    owner = models.CharField(max_length=100)  # "<object>:<public id>", e.g. "distribution:distr_…"
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    paused_reason = models.TextField(blank=True, default="")
    # Quiet hours, in the project's time zone: messages due inside [start, end) wait for the end.
    # Both null: none. A window may cross midnight (22:00 to 08:00).
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="stream_unique_public_id"),
            models.UniqueConstraint(fields=["project", "owner"], name="stream_unique_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.owner} ({self.state})"

    @property
    def owner_object(self) -> str:
        return self.owner.partition(":")[0]

    @property
    def owner_id(self) -> str:
        return self.owner.partition(":")[2]


class MessageTemplate(TenantModel):
    """One saved version of a channel's template: immutable, so a message can say what it rendered.

    `content` is the channel's design (for a webhook: endpoint, event name, payload mapping, raw
    flag); the channel validates it, variables included, when the version is created.
    """

    public_id = models.CharField(max_length=40, editable=False)
    channel = models.CharField(max_length=20)
    content = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="template_unique_public_id"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} template {self.public_id}"


class Message(TenantModel):
    """One customer's message on one channel for one cause; its public id is the delivery key."""

    class State(models.TextChoices):
        QUEUED = "queued"
        DEFERRED = "deferred"  # waiting for `next_attempt_at`: a retry, quiet hours or a rate limit
        SENDING = "sending"  # claimed by a delivery task
        SENT = "sent"
        FAILED = "failed"  # for good, with `last_error`
        SKIPPED = "skipped"  # with `last_error` saying why (no address, unsubscribed, canceled)
        BLOCKED_LIMIT = "blocked_limit"

    public_id = models.CharField(max_length=40, editable=False)
    stream = models.ForeignKey(MessageStream, on_delete=models.CASCADE, related_name="+", db_index=False)
    channel = models.CharField(max_length=20)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    cause_key = models.CharField(max_length=80)
    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="+", db_index=False)
    variables = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    # Recorded attempts only: a claim lost to a crash is not an attempt.
    attempts = models.PositiveSmallIntegerField(default=0)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    recovered = models.BooleanField(default=False)  # sent after at least one failed attempt
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="message_unique_public_id"),
            # The idempotency key of materialisation: re-running a step creates no second message.
            models.UniqueConstraint(
                fields=["project", "stream", "channel", "customer", "cause_key"], name="message_unique_cause"
            ),
        ]
        indexes = [
            # Analytics and the stream's lists: counts per state and channel, newest first.
            models.Index(fields=["project", "stream", "state", "channel"], name="message_stream_state"),
            models.Index(fields=["project", "customer"], name="message_customer"),
            # The skipped chart's partial quarter hours at the ends of a range (the rest is tallied).
            models.Index(
                fields=["project", "stream", "created_at"],
                name="message_skipped_created",
                condition=Q(state="skipped"),
            ),
            # The beat sweeps read only the rows they may act on; partial indexes keep them small.
            models.Index(
                fields=["project", "next_attempt_at"],
                name="message_due_deferred",
                condition=Q(state="deferred"),
            ),
            models.Index(
                fields=["project", "claimed_at"], name="message_sending", condition=Q(state="sending")
            ),
            models.Index(fields=["project", "queued_at"], name="message_queued", condition=Q(state="queued")),
            # Held by the project's message limit until the operator lifts it, or 7 days pass.
            models.Index(
                fields=["project", "created_at"],
                name="message_blocked_limit",
                condition=Q(state="blocked_limit"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} message {self.public_id} ({self.state})"


class MessageAttempt(TenantModel):
    """One delivery attempt of one message, for every channel: what analytics and activity read."""

    class Outcome(models.TextChoices):
        SENT = "sent"
        TRANSIENT = "transient"  # deferred for a retry, or failed for good once retries ran out
        PERMANENT = "permanent"

    # No database-level foreign keys on this append-only log: the delivery loop writes one row per
    # message sent and the two referential checks cost more than the insert; rows are only written
    # by delivery, for a message it holds, and deleted with it (Django's cascade).
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    # Copied from the message so per-stream, per-channel charts need no join.
    stream = models.ForeignKey(
        MessageStream, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    channel = models.CharField(max_length=20)
    number = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    is_final = models.BooleanField(default=False)  # the message failed for good with this attempt
    error = models.TextField(blank=True, default="")
    provider_id = models.CharField(max_length=200, blank=True, default="")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["project", "stream", "attempted_at"], name="attempt_stream_time"),
            models.Index(fields=["project", "message", "number"], name="attempt_message"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of message {self.message_id}: {self.outcome}"


# --- Tallies: what the analytics read instead of a million messages --------------------------------
#
# PostgreSQL statement-level triggers (migration 0004) append one row per group of changed rows to
# these tables, in the same transaction as the change: +n for rows that entered a group, -n for rows
# that left it (a state change is one of each). Nothing on the send path calls anything. The beat
# sweep `tallies_compact` folds those rows into one compact row per group; a read sums every row of
# its groups, compact or not, so it is exact at any moment, compacted or not.


class MessageStateTally(TenantModel):
    """How many of a stream's messages are in each state, per channel, recovered or not; for skipped
    messages also per reason (`last_error`) and per quarter hour of `created_at` (the skipped chart)."""

    # No database-level foreign keys: the triggers write these rows while a project, stream or
    # customer is being deleted (Django deletes the messages first), and compaction drops the rows of
    # streams that are gone.
    project = models.ForeignKey(
        "tenancy.Project", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    stream = models.ForeignKey(
        MessageStream, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    channel = models.CharField(max_length=20)
    state = models.CharField(max_length=16, choices=Message.State.choices)
    recovered = models.BooleanField()
    reason = models.TextField()  # a skipped message's `last_error`; "" in other states
    created_in = models.DateTimeField(null=True)  # skipped messages: the quarter hour they were created in
    count = models.BigIntegerField()
    is_compact = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "stream", "state", "channel", "recovered", "reason", "created_in"],
                name="message_tally_compact",
                condition=Q(is_compact=True),
                nulls_distinct=False,
            ),
        ]
        indexes = [
            models.Index(fields=["project", "stream", "state", "created_in"], name="message_tally_stream"),
            models.Index(fields=["project", "id"], name="message_tally_fresh", condition=Q(is_compact=False)),
        ]


class AttemptTally(TenantModel):
    """Per stream, channel and quarter hour of `attempted_at`: attempts, and of those the ones that
    sent, that failed for good, and that sent after a failed one (recovered)."""

    project = models.ForeignKey(
        "tenancy.Project", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    stream = models.ForeignKey(
        MessageStream, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    channel = models.CharField(max_length=20)
    bucket = models.DateTimeField()
    attempts = models.BigIntegerField()
    sent = models.BigIntegerField()
    failed = models.BigIntegerField()
    recovered = models.BigIntegerField()
    is_compact = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "stream", "bucket", "channel"],
                name="attempt_tally_compact",
                condition=Q(is_compact=True),
            ),
        ]
        indexes = [
            models.Index(fields=["project", "stream", "bucket"], name="attempt_tally_stream"),
            models.Index(fields=["project", "id"], name="attempt_tally_fresh", condition=Q(is_compact=False)),
        ]


class CustomerConsent(TenantModel):
    """A customer's choice for one channel. No row means subscribed: consent is asked for by the
    business before it imports its customers; an unsubscribe is what we must remember."""

    class State(models.TextChoices):
        SUBSCRIBED = "subscribed"
        UNSUBSCRIBED = "unsubscribed"

    class Source(models.TextChoices):
        API = "api"
        DASHBOARD = "dashboard"
        UNSUBSCRIBE_LINK = "unsubscribe_link"
        ONE_CLICK = "one_click"  # RFC 8058 List-Unsubscribe-Post from the mailbox provider
        COCKPIT = "cockpit"
        PROVIDER = "provider"  # e.g. an SMS provider reporting an opted-out number

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    channel = models.CharField(max_length=20)
    state = models.CharField(max_length=14, choices=State.choices)
    source = models.CharField(max_length=20, choices=Source.choices)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "customer", "channel"], name="consent_unique_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.state}"


class MessageLimitUnlockRequest(TenantModel):
    """A trial project asking the operator to lift its message limits, with the brand details it
    gave at the time. Approval (operator staff only) lifts the limits and releases held messages."""

    class State(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    requested_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, related_name="+", db_index=False
    )
    company_name = models.CharField(max_length=200)
    company_address = models.TextField()
    message = models.TextField(blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    released = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["project", "state", "created_at"], name="unlock_request_state")]

    def __str__(self) -> str:
        return f"unlock request of {self.project_id} ({self.state})"


class ChannelSuppression(TenantModel):
    """A customer who must not be reached on a channel any more, and why (e.g. the SMS provider
    reported the number opted out). Delivery skips a suppressed customer's messages on that channel
    with the reason; consent (the customer's own choice) is kept apart and read beside it."""

    class Reason(models.TextChoices):
        OPTED_OUT = "opted_out"  # the provider refused: the recipient replied STOP (Twilio 21610)

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    channel = models.CharField(max_length=20)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "customer", "channel"], name="channel_suppression_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} suppressed for customer {self.customer_id}: {self.reason}"


class ChannelProvider(TenantModel):
    """A project's account at an outside provider (Twilio-compatible SMS, Mailchimp, Braze).

    `settings` holds the provider's fields; secret ones are stored encrypted (see
    `messaging.providers`) and never shown again once saved. Saved only after a connection test.
    """

    class Kind(models.TextChoices):
        SMS = "sms", "SMS (Twilio-compatible)"
        MAILCHIMP = "mailchimp", "Mailchimp"
        BRAZE = "braze", "Braze"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    base_url = models.CharField(max_length=500)
    settings = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    checked_at = models.DateTimeField(null=True, blank=True)  # the last passing connection test
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "kind"], name="channel_provider_unique_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.base_url}"
