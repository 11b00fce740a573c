from __future__ import annotations

import hashlib
import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone as django_timezone

from tenancy.ids import new_public_id


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone.")


class Project(models.Model):
    """The tenant. Everything a business owns hangs off one project."""

    class Plan(models.TextChoices):
        TRIAL = "trial", "Trial"
        STANDARD = "standard", "Standard"
        ENTERPRISE = "enterprise", "Enterprise"

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    company_name = models.CharField(max_length=200, blank=True)
    company_address = models.TextField(blank=True)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.TRIAL)
    # Message limits count every channel, webhooks included. Null means unlimited.
    message_limit_per_day = models.PositiveIntegerField(null=True, blank=True, default=10)
    message_limit_per_month = models.PositiveIntegerField(null=True, blank=True, default=100)
    api_requests_per_minute = models.PositiveIntegerField(default=2000)
    allow_private_webhook_targets = models.BooleanField(default=False)
    # The email sender identity; an empty address falls back to settings.DEFAULT_FROM_EMAIL.
    email_from_name = models.CharField(max_length=100, blank=True, default="")
    email_from_address = models.EmailField(max_length=254, blank=True, default="")
    email_reply_to = models.EmailField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.public_id:
            self.public_id = new_public_id("proj", 12)
        super().save(*args, **kwargs)

    @property
    def has_brand_details(self) -> bool:
        return bool(self.company_name.strip() and self.company_address.strip())


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MARKETER = "marketer", "Marketer"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MARKETER)
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} as {self.role}"

    @property
    def can_manage_project(self) -> bool:
        return self.role in {Role.OWNER, Role.ADMIN}

    @property
    def can_edit(self) -> bool:
        return self.role != Role.VIEWER


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiKey(models.Model):
    """A project's server-side key pair. The token is shown once and kept only as a hash."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    app_id = models.CharField(max_length=64, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    token_hint = models.CharField(max_length=8, editable=False)
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "created_at"], name="apikey_project_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.app_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def generate(cls, *, project: Project, name: str) -> tuple[ApiKey, str]:
        """A new unsaved key and its plain token (the only time the token exists in the clear)."""
        token = secrets.token_hex(24)
        key = cls(
            project=project,
            name=name,
            app_id=secrets.token_hex(18),
            token_hash=hash_token(token),
            token_hint=token[-4:],
        )
        return key, token

    def matches(self, token: str) -> bool:
        return secrets.compare_digest(self.token_hash, hash_token(token))


class IdempotencyRecord(models.Model):
    """The first response to a POST with an `Idempotency-Key`, replayed for 24 hours."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    is_complete = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    created_at = models.DateTimeField(default=django_timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="idempotency_unique_key")]
        indexes = [models.Index(fields=["project", "created_at"], name="idempotency_project_created")]

    def __str__(self) -> str:
        return f"{self.key} ({'complete' if self.is_complete else 'in progress'})"
