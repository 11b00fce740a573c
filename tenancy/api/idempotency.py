"""`Idempotency-Key` on POST: the same key and body within 24 hours replays the first response.

The claim is a row inserted in its own committed transaction before the view runs, so a concurrent
duplicate sees it at once and gets 409; a different body under the same key gets 422. A 5xx
response releases the claim so that the client may retry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from tenancy.api.errors import ApiError
from tenancy.models import IdempotencyRecord, Project

REPLAY_WINDOW = timedelta(hours=24)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    status_code: int
    data: Any


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def claim(*, project: Project, key: str, request_fingerprint: str) -> Replay | IdempotencyRecord:
    """Claim `key` for this request, or return the stored response to replay."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            status_code=400,
            key="invalid_idempotency_key",
            message="Invalid idempotency key",
            details=f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
        )
    records = IdempotencyRecord.objects.filter(project=project, key=key)
    records.filter(created_at__lt=timezone.now() - REPLAY_WINDOW).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                project=project, key=key, request_fingerprint=request_fingerprint
            )
    except IntegrityError:
        pass
    existing = records.first()
    if existing is None:  # released by a failed request between our insert and this read
        return claim(project=project, key=key, request_fingerprint=request_fingerprint)
    if existing.request_fingerprint != request_fingerprint:
        raise ApiError(
            status_code=422,
            key="idempotency_key_reused",
            message="Idempotency key reused",
            details="This Idempotency-Key was already used with a different request body.",
        )
    if not existing.is_complete:
        raise ApiError(
            status_code=409,
            key="idempotency_key_in_use",
            message="Request in progress",
            details="A request with this Idempotency-Key is still being processed.",
        )
    return Replay(status_code=existing.status_code, data=json.loads(bytes(existing.response_body)))


def record_response(record: IdempotencyRecord, *, status_code: int, data: Any) -> None:
    if status_code >= 500:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        is_complete=True, status_code=status_code, response_body=json.dumps(data).encode()
    )


def purge_expired() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - REPLAY_WINDOW).delete()
    return deleted
