from __future__ import annotations

from django.db import models
from django.utils import timezone

from tenancy.scoping import TenantModel


class DomainEvent(TenantModel):
    """One state change, written in the transaction that made it (the outbox row).

    After commit the event is handed to the broker; if it is not `completed_at` by `next_dispatch_at`
    (the relay's grace period, or a failed handler's backoff) the beat relay hands it over again.
    `lease_until` is held by the worker dispatching it, so two deliveries of one event do not overlap.
    """

    public_id = models.CharField(max_length=40, editable=False)
    type = models.CharField(max_length=100)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    refs = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=dict, blank=True)
    cause = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_dispatch_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    dispatch_attempts = models.PositiveIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "public_id"], name="event_unique_public_id")
        ]
        indexes = [
            models.Index(fields=["project", "type", "created_at"], name="event_project_type_created"),
            models.Index(fields=["project", "customer", "created_at"], name="event_project_customer"),
            # The relay's sweep reads only unfinished events; a partial index keeps it small.
            models.Index(
                fields=["project", "next_dispatch_at"],
                name="event_project_pending",
                condition=models.Q(completed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"


class HandlerRun(TenantModel):
    """One handler's outcome for one event: the key that makes each handler idempotent per event."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"  # will be retried
        ABANDONED = "abandoned"  # retries exhausted

    event = models.ForeignKey(DomainEvent, on_delete=models.CASCADE, related_name="handler_runs")
    handler = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "event", "handler"], name="handler_run_unique")
        ]
