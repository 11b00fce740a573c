"""Segments: a named set of customers, either listed by hand (static) or defined by a filter.

Membership is stored (`SegmentMember`), never computed on read: a distribution's audience, the
`customer.segment` validation rule and the customer's segment list all read these rows. Filter
segments keep them current in two ways: a set-based sync (`segments.sync`) after a create, an edit
or a beat re-sync of a time-dependent filter, and a real-time re-check of one customer whenever an
event about them arrives (`segments.realtime`).
"""

from __future__ import annotations

import bisect

from django.db import models
from django.utils import timezone

from tenancy.scoping import TenantModel


class Segment(TenantModel):
    class Type(models.TextChoices):
        STATIC = "static"
        AUTO_UPDATE = "auto-update"  # membership changes publish customer.segment.entered / left
        PASSIVE = "passive"  # membership kept current, no events

    class Status(models.TextChoices):
        SYNCING = "syncing"
        SYNCED = "synced"

    class InitialSyncStatus(models.TextChoices):
        IN_PROGRESS = "IN_PROGRESS"
        DONE = "DONE"

    public_id = models.CharField(max_length=40, editable=False)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=Type.choices)
    # The filter as the client sent it (null for static segments); `is_filter_valid` records that it
    # compiled when it was saved, so a later change to the field registry shows up as invalid
    # instead of failing inside a sync.
    filter = models.JSONField(null=True, blank=True)
    is_filter_valid = models.BooleanField(default=True)
    # Relative dates and event windows make membership change with time alone: beat re-syncs these.
    is_time_dependent = models.BooleanField(default=False)
    # Bumped on every filter edit; a sync job working on an older version stops at its next batch.
    filter_version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SYNCED)
    sync_progress = models.PositiveSmallIntegerField(default=100)  # percent, while syncing
    member_count = models.PositiveIntegerField(default=0)
    synced_at = models.DateTimeField(null=True, blank=True)
    initial_sync_status = models.CharField(
        max_length=20, choices=InitialSyncStatus.choices, default=InitialSyncStatus.DONE
    )
    first_synced_at = models.DateTimeField(null=True, blank=True)
    # A customer who left less than this long ago re-enters silently (no second entered event).
    reentry_cooldown_seconds = models.PositiveIntegerField(default=0)
    # A segment made inside an unsaved distribution: synced, hidden from lists, removed after 24 h.
    is_draft = models.BooleanField(default=False)
    draft_created_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="segment_unique_public_id"),
        ]
        indexes = [
            models.Index(fields=["project", "created_at"], name="segment_project_created"),
            # The real-time re-check reads the project's filter segments on every customer event.
            models.Index(
                fields=["project", "type"],
                name="segment_project_filtered",
                condition=~models.Q(type="static"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_filter(self) -> bool:
        return self.type != self.Type.STATIC

    @property
    def publishes_events(self) -> bool:
        """Only auto-update segments announce changes, and only once their baseline exists."""
        return self.type == self.Type.AUTO_UPDATE and self.initial_sync_status == self.InitialSyncStatus.DONE


class SegmentMember(TenantModel):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "segment", "customer"], name="segment_member_unique_customer"
            ),
        ]
        indexes = [
            # "Which segments is this customer in?" (validation rules, the customer's segment list).
            models.Index(fields=["project", "customer"], name="segment_member_customer"),
        ]


class SegmentExit(TenantModel):
    """When a customer last left a segment, for the re-entry cooldown.

    A separate table rather than a `left_at` on a kept member row: the member table then holds
    current members only, so every audience read, count and `customer.segment` check is a plain
    scan of the unique index with no `left_at IS NULL` condition, and a million-member segment does
    not drag its former members through every read. One row per (segment, customer), overwritten
    on each exit, so flapping customers do not grow it.
    """

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    left_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "segment", "customer"], name="segment_exit_unique"),
        ]


class SegmentSyncJob(TenantModel):
    """One run of a segment's set-based sync, resumable from `next_customer_id`.

    The first claim plans the job: in one transaction it writes the customers whose membership
    differs from the filter (`SegmentSyncChange`, the job's work list) and cuts them, in id order,
    into ranges of about the same number of changes (`range_ends`, each range's last customer id).
    Each range's membership changes, its events and the advanced cursor then commit together, so a
    worker killed mid-range loses only that range's uncommitted work and the next claim redoes it
    from the cursor: no change is applied twice and no event is published twice.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        SUPERSEDED = "superseded"  # the filter changed; a newer job took over

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sync_jobs")
    filter_version = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # The baseline (first) sync of a segment publishes no entered events.
    is_initial = models.BooleanField(default=False)
    range_ends = models.JSONField(null=True, blank=True)  # null until planned
    first_customer_id = models.BigIntegerField(default=0)
    next_customer_id = models.BigIntegerField(default=0)
    entered_count = models.PositiveIntegerField(default=0)
    left_count = models.PositiveIntegerField(default=0)
    # The segment's size when the job finished: the dashboard's "members over time".
    member_count = models.PositiveIntegerField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "segment", "created_at"], name="segment_sync_job_segment"),
            models.Index(
                fields=["project", "lease_until"],
                name="segment_sync_job_unfinished",
                condition=models.Q(status__in=["pending", "running"]),
            ),
        ]

    @property
    def is_planned(self) -> bool:
        return self.range_ends is not None

    def current_range(self) -> tuple[int, int] | None:
        """(first id, last id) of the next range to apply; None when every range is done."""
        ends = self.range_ends or []
        index = bisect.bisect_left(ends, self.next_customer_id)
        return None if index >= len(ends) else (self.next_customer_id, ends[index])

    @property
    def progress(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        ends = self.range_ends or []
        if not ends:
            return 0
        done = bisect.bisect_left(ends, self.next_customer_id)
        return min(99, done * 100 // len(ends))


class SegmentSyncChange(TenantModel):
    """One customer whose membership a sync job found to differ from its filter: the job's work list.

    A job's first step compares the filter's whole member set with the stored members in one
    statement and writes the differences here (in the same transaction as the job's ranges); the
    job then applies them range by range. Kept until the job ends, then deleted.
    """

    job = models.ForeignKey(SegmentSyncJob, on_delete=models.CASCADE, related_name="+", db_index=False)
    # No foreign key: the apply step re-reads the customer anyway, and a deleted one simply no
    # longer matches (and their memberships went with them).
    customer_id = models.BigIntegerField()
    entering = models.BooleanField()  # False: leaving

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "job", "customer_id"], name="segment_sync_change_unique"
            ),
        ]


class SegmentSize(TenantModel):
    """A segment's member count at one moment: the dashboard's "members over time".

    Beat records every segment's count each hour (one statement for all of them), so the chart
    follows real-time entries and exits too, not only the syncs.
    """

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+", db_index=False)
    taken_at = models.DateTimeField()
    members = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["project", "segment", "taken_at"], name="segment_size_history")]
