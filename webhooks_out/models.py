"""Outgoing webhook endpoints, and the sandbox receiver's record of what arrived.

Attempts live in messaging (`MessageAttempt`), not here: a webhook is one more channel.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tenancy.scoping import TenantModel


class WebhookEndpoint(TenantModel):
    """A URL the project's messages are posted to, with its own signing secret and extra headers.

    `is_failing` is set when a message to it failed for good (its retries ran out) and cleared by the
    next success or by re-activating it.
    """

    public_id = models.CharField(max_length=40, editable=False)
    name = models.CharField(max_length=200, blank=True, default="")
    url = models.CharField(max_length=2000)
    secret = models.CharField(max_length=100)
    headers = models.JSONField(default=dict, blank=True)  # custom header name → value
    is_active = models.BooleanField(default=True)
    is_failing = models.BooleanField(default=False)
    failing_reason = models.TextField(blank=True, default="")
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "public_id"], name="webhook_endpoint_unique_public_id"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.url


class SandboxDelivery(TenantModel):
    """One request the sandbox receiver got: headers and body exactly as they arrived."""

    received_at = models.DateTimeField(default=timezone.now)
    headers = models.JSONField(default=dict)
    body = models.TextField(blank=True, default="")
    # The endpoint whose secret verifies the Voucherify signature, if any.
    verified_endpoint = models.CharField(max_length=40, blank=True, default="")
    # What sent it: a webhook, or a call to one of the provider stand-ins (sms, mailchimp, braze).
    kind = models.CharField(max_length=20, default="webhook")
    request_line = models.CharField(max_length=300, blank=True, default="")  # e.g. "PUT /3.0/lists/…"

    class Meta:
        indexes = [models.Index(fields=["project", "-received_at"], name="sandbox_delivery_received")]

    @property
    def webhook_id(self) -> str:
        return next((value for name, value in self.headers.items() if name.lower() == "webhook-id"), "")

    def __str__(self) -> str:
        return f"sandbox delivery {self.pk} at {self.received_at:%Y-%m-%d %H:%M:%S}"
