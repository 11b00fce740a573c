"""Distributions: what should happen (trigger), what it does (action), how it reaches people (channels).

The trigger, action and channel keys are catalogue keys (`distributions.catalogue`); parameters
are stored as the public ids of what they name. State changes are services (`services.py`); the
methods here change one row in memory and say nothing of events or activity.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenancy.scoping import ProjectScopedManager, ProjectScopedQuerySet, TenantModel


class DistributionKind(models.TextChoices):
    MANUAL = "manual", "Manual"
    AUTOMATIC = "automatic", "Automatic"


class DistributionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    LIVE = "live", "Live"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"
    CANCELED = "canceled", "Canceled"
    ARCHIVED = "archived", "Archived"


# Once sending has started, what went out is history: the configuration can no longer change.
SENDING_STARTED = frozenset({DistributionStatus.SENDING, DistributionStatus.SENT})
# Where an edit is allowed, and where it must keep the distribution complete.
EDITABLE = frozenset(
    {
        DistributionStatus.DRAFT,
        DistributionStatus.SCHEDULED,
        DistributionStatus.LIVE,
        DistributionStatus.PAUSED,
    }
)


class DistributionQuerySet(ProjectScopedQuerySet):
    def visible(self) -> DistributionQuerySet:
        """What the default list shows: everything but archived distributions."""
        return self.exclude(status=DistributionStatus.ARCHIVED)

    def live_for_event_type(self, event_type: str) -> DistributionQuerySet:
        """The live distributions an event of `event_type` may trigger (served by a partial index)."""
        return self.live_for_event_types([event_type])

    def live_for_event_types(self, event_types: Iterable[str]) -> DistributionQuerySet:
        """The live distributions an event of any of `event_types` may trigger."""
        return self.filter(status=DistributionStatus.LIVE, event_type__in=list(event_types))


class Distribution(TenantModel):
    public_id = models.CharField(max_length=40, editable=False)
    name = models.CharField(max_length=255, blank=True, default="")
    # Derived from the trigger (blank while a draft has none).
    kind = models.CharField(max_length=20, choices=DistributionKind.choices, blank=True, default="")
    trigger_key = models.CharField(max_length=60, blank=True, default="")
    trigger_params = models.JSONField(default=dict, blank=True)
    # The trigger's event type, copied from the catalogue so the automatic handler finds live
    # distributions by index instead of scanning them.
    event_type = models.CharField(max_length=100, blank=True, default="")
    # Manual only: {"type": "customer", "customer": "cust_..."} or {"type": "segment", "segment": "seg_..."}.
    audience = models.JSONField(default=dict, blank=True)
    action_key = models.CharField(max_length=60, blank=True, default="")
    action_params = models.JSONField(default=dict, blank=True)
    # Automatic only: when matching events count (compared with the event's time).
    live_from = models.DateTimeField(null=True, blank=True)
    live_until = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=DistributionStatus.choices, default=DistributionStatus.DRAFT
    )
    send_at = models.DateTimeField(null=True, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # every message had its first attempt
    paused_reason = models.TextField(blank=True, default="")
    # The state a pause interrupted (live, sending or sent): resuming returns to it.
    paused_from = models.CharField(max_length=20, choices=DistributionStatus.choices, blank=True, default="")
    # The messaging stream that owns this distribution's messages; created on the first send.
    stream_public_id = models.CharField(max_length=40, blank=True, default="")
    # Manual only: when every audience member's messages were created (the sweep re-runs an
    # interrupted materialisation while this is empty).
    materialised_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ProjectScopedManager.from_queryset(DistributionQuerySet)()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="distribution_unique_public_id"),
        ]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="distribution_project_created"),
            models.Index(
                fields=["project", "event_type"],
                name="distribution_live_by_event",
                condition=Q(status="live"),
            ),
            # The due sweep reads scheduled rows only; a partial index keeps it tiny.
            models.Index(
                fields=["project", "send_at"], name="distribution_scheduled", condition=Q(status="scheduled")
            ),
            # The time-frame sweep: automatic distributions that can still end.
            models.Index(
                fields=["project", "live_until"],
                name="distribution_can_end",
                condition=Q(status__in=["live", "paused"], live_until__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.public_id

    @property
    def is_manual(self) -> bool:
        return self.kind == DistributionKind.MANUAL

    @property
    def has_started_sending(self) -> bool:
        return self.status in SENDING_STARTED or self.paused_from in SENDING_STARTED

    @property
    def is_editable(self) -> bool:
        """Whether an edit can apply at all (a scheduled one also only until its send time)."""
        return self.status in EDITABLE and not self.has_started_sending

    def is_in_time_frame(self, moment) -> bool:
        """Whether an event at `moment` falls inside the optional live-from / live-until frame."""
        if self.live_from is not None and moment < self.live_from:
            return False
        return self.live_until is None or moment < self.live_until


class DistributionChannel(TenantModel):
    """One channel of a distribution, with its settings and message template.

    A row rather than a JSON list: messages, analytics and delivery settings refer to one channel of
    one distribution, and an edit keeps the row (and its id) of a channel that stays.
    """

    distribution = models.ForeignKey(
        Distribution, on_delete=models.CASCADE, related_name="channels", db_index=False
    )
    kind = models.CharField(max_length=30)
    settings = models.JSONField(default=dict, blank=True)
    template = models.JSONField(default=dict, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    # The messaging template version its messages render, saved on Save & Send and on each later
    # edit (empty for a channel messaging cannot deliver yet).
    message_template = models.ForeignKey(
        "messaging.MessageTemplate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "distribution", "kind"], name="distribution_channel_unique_kind"
            ),
        ]

    def __str__(self) -> str:
        return self.kind


class ActivityKind(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    SCHEDULED = "scheduled", "Scheduled"
    CANCELED = "canceled", "Canceled"
    SENDING = "sending", "Sending started"
    SENT = "sent", "Sent"
    LIVE = "live", "Set live"
    PAUSED = "paused", "Paused"
    RESUMED = "resumed", "Resumed"
    ENDED = "ended", "Ended"
    ARCHIVED = "archived", "Deleted"
    MATERIALISED = "materialised", "Messages created"
    FAILED = "failed", "Failed"


class DistributionActivity(TenantModel):
    """One line of a distribution's activity log: a lifecycle transition (and, after the merge,
    per-message outcomes), who did it and when. Read newest first, keyset-paged."""

    distribution = models.ForeignKey(
        Distribution, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    kind = models.CharField(max_length=40, choices=ActivityKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who it was in words: a user's email, an API key's name, or "System" for sweeps.
    actor_label = models.CharField(max_length=255, blank=True, default="")
    message = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["project", "distribution", "-created_at", "-id"], name="distr_activity_newest"
            ),
            models.Index(
                fields=["project", "distribution", "kind", "-created_at", "-id"], name="distr_activity_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M}"
