"""Request shapes (strict: unknown fields refused, types not coerced) and the distribution object."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from distributions.catalogue import trigger as catalogue_trigger
from distributions.models import Distribution, DistributionActivity
from tenancy.api.fields import StrictBooleanField, StrictCharField, StrictDictField, StrictSerializer


class KeyParamsInput(StrictSerializer):
    key = StrictCharField(max_length=60, allow_blank=True)
    params = StrictDictField(required=False, allow_null=True)


class ChannelInput(StrictSerializer):
    kind = StrictCharField(max_length=30)
    settings = StrictDictField(required=False, allow_null=True)
    template = StrictDictField(required=False, allow_null=True)


class DistributionInput(StrictSerializer):
    """Create and update take the same fields; an update changes only the ones given."""

    name = StrictCharField(required=False, allow_blank=True, max_length=255)
    trigger = KeyParamsInput(required=False, allow_null=True)
    audience = StrictDictField(required=False, allow_null=True)
    action = KeyParamsInput(required=False, allow_null=True)
    channels = ChannelInput(many=True, required=False, allow_null=True)
    live_from = serializers.DateTimeField(required=False, allow_null=True)
    live_until = serializers.DateTimeField(required=False, allow_null=True)


class PauseInput(StrictSerializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=1000)


class ResumeInput(StrictSerializer):
    replay_failed = StrictBooleanField(required=False)


def _time(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def distribution_object(distribution: Distribution) -> dict[str, Any]:
    trigger = catalogue_trigger(distribution.trigger_key)
    created_by = distribution.created_by
    return {
        "id": distribution.public_id,
        "object": "distribution",
        "name": distribution.name,
        "kind": distribution.kind or None,
        "status": distribution.status,
        "trigger": {
            "key": distribution.trigger_key,
            "category": str(trigger.category) if trigger else None,
            "event_type": distribution.event_type or None,
            "params": distribution.trigger_params,
        }
        if distribution.trigger_key
        else None,
        "audience": distribution.audience or None,
        "action": {"key": distribution.action_key, "params": distribution.action_params}
        if distribution.action_key
        else None,
        "channels": [
            {"kind": c.kind, "settings": c.settings, "template": c.template, "position": c.position}
            for c in distribution.channels.all()
        ],
        "live_from": _time(distribution.live_from),
        "live_until": _time(distribution.live_until),
        "send_at": _time(distribution.send_at),
        "sending_started_at": _time(distribution.sending_started_at),
        "sent_at": _time(distribution.sent_at),
        "paused_reason": distribution.paused_reason or None,
        "stream_id": distribution.stream_public_id or None,
        "created_by": {"id": created_by.pk, "email": created_by.email} if created_by else None,
        "created_at": _time(distribution.created_at),
        "updated_at": _time(distribution.updated_at),
    }


def activity_object(activity: DistributionActivity) -> dict[str, Any]:
    return {
        "object": "distribution_activity",
        "kind": activity.kind,
        "actor": activity.actor_label,
        "message": activity.message,
        "data": activity.data,
        "created_at": _time(activity.created_at),
    }
