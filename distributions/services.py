"""Every write to distributions: one transaction each, an activity line and a `distribution.*` event.

The lifecycle (DESIGN.md, "Distributions"):
    draft → scheduled → sending → sent        (manual; scheduled → canceled)
    draft → live ⇄ paused, live → ended       (automatic)
    sending / sent → paused → back            (a pause holds what has not gone yet)
    any → archived                            (delete; history stays)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from distributions import catalogue
from distributions.models import (
    EDITABLE,
    SENDING_STARTED,
    ActivityKind,
    Distribution,
    DistributionActivity,
    DistributionChannel,
    DistributionKind,
    DistributionStatus,
)
from distributions.validation import Configuration, Problem, completeness_problems, configuration_problems
from eventbus.cause import current_cause
from eventbus.services import publish
from messaging.models import MessageStream
from messaging.services import (
    message_stream_close,
    message_stream_open,
    message_stream_pause,
    message_stream_replay_failed,
    message_stream_resume,
)
from tenancy.ids import new_public_id
from tenancy.models import Project

# Save & Send schedules a manual distribution this far ahead: time to notice a mistake and cancel.
SEND_DELAY = timedelta(minutes=10)
CLAIM_BATCH = 50
CONFIG_FIELDS = ("name", "trigger", "audience", "action", "channels", "live_from", "live_until")


class DistributionRefused(Exception):
    """A request the distribution's rules refuse: Voucherify's `key`, and every problem found."""

    def __init__(self, key: str, details: str, problems: list[Problem] | None = None) -> None:
        super().__init__(details)
        self.key = key
        self.details = details
        self.problems = problems or []

    @classmethod
    def listing(cls, key: str, lead: str, problems: list[Problem]) -> DistributionRefused:
        return cls(key, f"{lead}: " + "; ".join(str(p) for p in problems), problems)


def _invalid_state(distribution: Distribution, what: str) -> DistributionRefused:
    return DistributionRefused(
        "invalid_distribution_state",
        f"Distribution {distribution.public_id} is {distribution.status}; {what}.",
    )


# --- Activity and events ---------------------------------------------------------------------------


def _actor_label(by: AbstractBaseUser | None) -> str:
    if by is not None:
        return getattr(by, "email", "") or by.get_username()
    cause = current_cause()
    if cause.api_key:
        return f"API key {cause.api_key.get('name', '')}".strip()
    if cause.user:
        return str(cause.user.get("email") or "")
    return "System"


def _record(
    project: Project,
    distribution: Distribution,
    kind: ActivityKind,
    message: str,
    *,
    by: AbstractBaseUser | None = None,
    data: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """An activity line and the `distribution.<kind>` event, in the caller's transaction."""
    DistributionActivity.objects.create(
        project=project,
        distribution=distribution,
        kind=kind,
        actor=by,
        actor_label=_actor_label(by),
        message=message,
        data=dict(data or {}),
        created_at=now or timezone.now(),
    )
    publish(
        project,
        f"distribution.{kind}",
        refs={"distribution": distribution},
        data={"status": distribution.status, **(data or {})},
    )


# Other distribution modules (sending, handlers) record their activity lines the same way.
def record_activity(
    project: Project,
    distribution: Distribution,
    kind: ActivityKind,
    message: str,
    *,
    data: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    _record(project, distribution, kind, message, data=data, now=now)


def _locked(project: Project, distribution: Distribution) -> Distribution:
    """The row again, locked for this transaction: transitions never act on a stale status."""
    return Distribution.objects.for_project(project).select_for_update().get(pk=distribution.pk)


def stream_owner(distribution: Distribution) -> str:
    return f"distribution:{distribution.public_id}"


def distribution_stream_open(*, project: Project, distribution: Distribution) -> MessageStream:
    """The distribution's message stream, opened (and remembered) the first time it sends or goes live."""
    stream = message_stream_open(project=project, owner=stream_owner(distribution))
    if distribution.stream_public_id != stream.public_id:
        distribution.stream_public_id = stream.public_id
        Distribution.objects.for_project(project).filter(pk=distribution.pk).update(
            stream_public_id=stream.public_id
        )
    return stream


def stream_of(project: Project, distribution: Distribution) -> MessageStream | None:
    if not distribution.stream_public_id:
        return None
    return MessageStream.objects.for_project(project).filter(public_id=distribution.stream_public_id).first()


def _prepare_channels(project: Project, distribution: Distribution) -> None:
    """Save the channels' template versions; refuse (rolling everything back) when one cannot be."""
    from distributions.channels import channels_prepare

    problems = channels_prepare(project=project, distribution=distribution)
    if problems:
        raise DistributionRefused.listing(
            "distribution_incomplete", "The distribution's channels cannot be used", problems
        )


# --- Configuration ---------------------------------------------------------------------------------


def configuration_of(distribution: Distribution) -> Configuration:
    return Configuration(
        name=distribution.name,
        trigger_key=distribution.trigger_key,
        trigger_params=dict(distribution.trigger_params),
        audience=dict(distribution.audience),
        action_key=distribution.action_key,
        action_params=dict(distribution.action_params),
        channels=[
            {"kind": c.kind, "settings": dict(c.settings), "template": dict(c.template)}
            for c in distribution.channels.all()
        ],
        live_from=distribution.live_from,
        live_until=distribution.live_until,
    )


def _with_changes(config: Configuration, fields: Mapping[str, Any]) -> Configuration:
    if "name" in fields:
        config.name = fields["name"] or ""
    if "trigger" in fields:
        trigger = fields["trigger"] or {}
        config.trigger_key = trigger.get("key") or ""
        config.trigger_params = dict(trigger.get("params") or {})
    if "audience" in fields:
        config.audience = dict(fields["audience"] or {})
    if "action" in fields:
        action = fields["action"] or {}
        config.action_key = action.get("key") or ""
        config.action_params = dict(action.get("params") or {})
    if "channels" in fields:
        config.channels = [
            {
                "kind": c.get("kind"),
                "settings": dict(c.get("settings") or {}),
                "template": dict(c.get("template") or {}),
            }
            for c in fields["channels"] or []
        ]
    for name in ("live_from", "live_until"):
        if name in fields:
            setattr(config, name, fields[name])
    return config


def _kind_of(config: Configuration) -> str:
    trigger = config.trigger
    if trigger is None:
        return ""
    return DistributionKind.MANUAL if trigger.mode == catalogue.Mode.MANUAL else DistributionKind.AUTOMATIC


def _store(
    project: Project, distribution: Distribution, config: Configuration, *, channels_changed: bool
) -> None:
    trigger = config.trigger
    distribution.name = config.name
    distribution.kind = _kind_of(config)
    distribution.trigger_key = config.trigger_key
    distribution.trigger_params = config.trigger_params
    distribution.event_type = trigger.event_type if trigger is not None else ""
    distribution.audience = config.audience
    distribution.action_key = config.action_key
    distribution.action_params = config.action_params
    distribution.live_from = config.live_from
    distribution.live_until = config.live_until
    distribution.updated_at = timezone.now()
    distribution.save()
    if channels_changed:
        _store_channels(project, distribution, config.channels)


def _store_channels(project: Project, distribution: Distribution, channels: list[dict[str, Any]]) -> None:
    """Keep the row of each channel that stays (its id is what messages refer to), add the new ones."""
    existing = {
        c.kind: c for c in DistributionChannel.objects.for_project(project).filter(distribution=distribution)
    }
    wanted = {entry["kind"] for entry in channels}
    DistributionChannel.objects.for_project(project).filter(distribution=distribution).exclude(
        kind__in=wanted
    ).delete()
    for position, entry in enumerate(channels):
        row = existing.get(entry["kind"]) or DistributionChannel(
            project=project, distribution=distribution, kind=entry["kind"]
        )
        row.settings, row.template, row.position = entry["settings"], entry["template"], position
        row.save()


@transaction.atomic
def distribution_create(
    *, project: Project, fields: Mapping[str, Any], by: AbstractBaseUser | None = None
) -> Distribution:
    """A draft, complete or not; anything given wrong (an unknown key, another project's campaign) is
    refused with every problem named, and nothing is created."""
    config = _with_changes(Configuration("", "", {}, {}, "", {}, [], None, None), fields)
    config, problems = configuration_problems(project, config, changed=set(fields))
    if problems:
        raise DistributionRefused.listing("invalid_payload", "The distribution has invalid parts", problems)
    distribution = Distribution(project=project, public_id=new_public_id("distr", 24), created_by=by)
    _store(project, distribution, config, channels_changed=True)
    _record(project, distribution, ActivityKind.CREATED, "Created as a draft.", by=by)
    return distribution


@transaction.atomic
def distribution_update(
    *,
    project: Project,
    distribution: Distribution,
    fields: Mapping[str, Any],
    by: AbstractBaseUser | None = None,
) -> Distribution:
    """Change the given parts. Drafts take anything valid; a scheduled distribution until its send
    time, and a live or paused one (the edit applies to later events), only while staying complete.
    Once sending has started the configuration is history and cannot change."""
    distribution = _locked(project, distribution)
    if distribution.has_started_sending:
        raise _invalid_state(distribution, "it has started sending and can no longer be edited")
    if distribution.status not in EDITABLE:
        raise _invalid_state(distribution, "it can no longer be edited")
    if (
        distribution.status == DistributionStatus.SCHEDULED
        and distribution.send_at is not None
        and distribution.send_at <= timezone.now()
    ):
        raise _invalid_state(distribution, "its send time has come and it can no longer be edited")
    if not fields:
        return distribution
    config = _with_changes(configuration_of(distribution), fields)
    is_draft = distribution.status == DistributionStatus.DRAFT
    if not is_draft and _kind_of(config) != distribution.kind:
        raise DistributionRefused(
            "invalid_payload",
            f"Property .trigger.key: a {distribution.status} {distribution.kind} distribution "
            "cannot change to a trigger of the other kind",
        )
    config, problems = configuration_problems(project, config, changed=set(fields))
    if problems:
        raise DistributionRefused.listing("invalid_payload", "The distribution has invalid parts", problems)
    if not is_draft:
        missing = completeness_problems(project, config)
        if missing:
            raise DistributionRefused.listing(
                "distribution_incomplete",
                f"A {distribution.status} distribution must stay complete",
                missing,
            )
    _store(project, distribution, config, channels_changed="channels" in fields)
    if not is_draft and ({"channels", "action", "trigger"} & set(fields)):
        # Later messages render the edit; those already created keep their version.
        _prepare_channels(project, distribution)
    changed = sorted(name for name in fields if name in CONFIG_FIELDS)
    _record(
        project,
        distribution,
        ActivityKind.UPDATED,
        "Edited: " + ", ".join(changed) + ".",
        by=by,
        data={"fields": changed},
    )
    return distribution


def distribution_problems(*, project: Project, distribution: Distribution) -> list[Problem]:
    """Everything Save & Send would refuse, each naming its field (empty: ready to send)."""
    return completeness_problems(project, configuration_of(distribution))


# --- Transitions -----------------------------------------------------------------------------------


@transaction.atomic
def distribution_send(
    *, project: Project, distribution: Distribution, by: AbstractBaseUser | None = None
) -> Distribution:
    """Save & Send: validate everything, then schedule a manual distribution `SEND_DELAY` ahead (the
    beat sweep claims it then) or set an automatic one live."""
    distribution = _locked(project, distribution)
    if distribution.status != DistributionStatus.DRAFT:
        raise _invalid_state(distribution, "only a draft can be sent")
    problems = distribution_problems(project=project, distribution=distribution)
    if problems:
        raise DistributionRefused.listing(
            "distribution_incomplete", "The distribution cannot be sent yet", problems
        )
    _prepare_channels(project, distribution)
    now = timezone.now()
    distribution.updated_at = now
    if distribution.is_manual:
        syncing = _segment_first_sync_pending(project, distribution)
        distribution.status = DistributionStatus.SCHEDULED
        # A segment still in its first sync has no audience yet: the countdown starts when it finishes.
        distribution.send_at = None if syncing else now + SEND_DELAY
        distribution.save(update_fields=["status", "send_at", "updated_at"])
        if syncing:
            _record(
                project,
                distribution,
                ActivityKind.SCHEDULED,
                f"Scheduled to send {SEND_DELAY.seconds // 60} minutes after segment "
                f"{distribution.audience['segment']} finishes its first sync.",
                by=by,
                data={"send_at": None, "waiting_for_segment": distribution.audience["segment"]},
            )
        else:
            _record(
                project,
                distribution,
                ActivityKind.SCHEDULED,
                f"Scheduled to send at {distribution.send_at.isoformat()}.",
                by=by,
                data={"send_at": distribution.send_at.isoformat()},
            )
    else:
        distribution.status = DistributionStatus.LIVE
        distribution.save(update_fields=["status", "updated_at"])
        distribution_stream_open(project=project, distribution=distribution)
        _record(project, distribution, ActivityKind.LIVE, "Set live.", by=by)
    return distribution


def _segment_first_sync_pending(project: Project, distribution: Distribution) -> bool:
    from segments.models import Segment

    segment_id = (distribution.audience or {}).get("segment")
    if (distribution.audience or {}).get("type") != "segment" or not segment_id:
        return False
    return (
        Segment.objects.for_project(project)
        .filter(public_id=segment_id)
        .exclude(initial_sync_status=Segment.InitialSyncStatus.DONE)
        .exists()
    )


@transaction.atomic
def distribution_cancel(
    *, project: Project, distribution: Distribution, by: AbstractBaseUser | None = None
) -> Distribution:
    """A scheduled distribution that has not been claimed yet sends nothing."""
    distribution = _locked(project, distribution)
    if distribution.status != DistributionStatus.SCHEDULED:
        raise _invalid_state(distribution, "only a scheduled distribution can be canceled")
    distribution.status = DistributionStatus.CANCELED
    distribution.updated_at = timezone.now()
    distribution.save(update_fields=["status", "updated_at"])
    _record(project, distribution, ActivityKind.CANCELED, "Canceled before sending.", by=by)
    return distribution


PAUSABLE = frozenset({DistributionStatus.LIVE, *SENDING_STARTED})


@transaction.atomic
def distribution_pause(
    *, project: Project, distribution: Distribution, by: AbstractBaseUser | None = None, reason: str = ""
) -> Distribution:
    """Hold whatever has not gone yet: a live one reacts to nothing, a sending or sent one sends no
    more (retries included) until resumed. `reason` says why (e.g. a webhook failing for good)."""
    distribution = _locked(project, distribution)
    if distribution.status not in PAUSABLE:
        raise _invalid_state(distribution, "only a live, sending or sent distribution can be paused")
    distribution.paused_from = distribution.status
    distribution.status = DistributionStatus.PAUSED
    distribution.paused_reason = reason
    distribution.updated_at = timezone.now()
    distribution.save(update_fields=["status", "paused_from", "paused_reason", "updated_at"])
    stream = stream_of(project, distribution)
    if stream is not None:
        message_stream_pause(project=project, stream=stream, reason=reason)
    _record(
        project,
        distribution,
        ActivityKind.PAUSED,
        f"Paused{': ' + reason if reason else '.'}",
        by=by,
        data={"paused_from": distribution.paused_from, "reason": reason},
    )
    return distribution


@transaction.atomic
def distribution_resume(
    *,
    project: Project,
    distribution: Distribution,
    by: AbstractBaseUser | None = None,
    replay_failed: bool = False,
) -> Distribution:
    """Back to the state the pause interrupted; an automatic one whose time frame closed meanwhile ends.

    What the pause held goes out now; with `replay_failed`, so do the messages that failed for good
    (e.g. while a webhook endpoint was down), their retry schedule starting over."""
    distribution = _locked(project, distribution)
    if distribution.status != DistributionStatus.PAUSED:
        raise _invalid_state(distribution, "only a paused distribution can be resumed")
    now = timezone.now()
    back_to = DistributionStatus(distribution.paused_from or DistributionStatus.LIVE)
    distribution.status = back_to
    distribution.paused_from = ""
    distribution.paused_reason = ""
    distribution.updated_at = now
    distribution.save(update_fields=["status", "paused_from", "paused_reason", "updated_at"])
    stream = stream_of(project, distribution)
    replayed = 0
    if stream is not None:
        message_stream_resume(project=project, stream=stream)
        if replay_failed:
            replayed = message_stream_replay_failed(project=project, stream=stream)
    _record(
        project,
        distribution,
        ActivityKind.RESUMED,
        f"Resumed: {back_to.label.lower()} again."
        + (f" {replayed} failed messages sent again." if replay_failed else ""),
        by=by,
        data={"replayed": replayed} if replay_failed else None,
    )
    if (
        back_to == DistributionStatus.LIVE
        and distribution.live_until is not None
        and distribution.live_until <= now
    ):
        _end(project, distribution, now)
    return distribution


@transaction.atomic
def distribution_delete(
    *, project: Project, distribution: Distribution, by: AbstractBaseUser | None = None
) -> Distribution:
    """Archive: hidden from the default list, its history and analytics stay."""
    distribution = _locked(project, distribution)
    if distribution.status == DistributionStatus.ARCHIVED:
        return distribution
    previous = distribution.status
    distribution.status = DistributionStatus.ARCHIVED
    distribution.updated_at = timezone.now()
    distribution.save(update_fields=["status", "updated_at"])
    stream = stream_of(project, distribution)
    if stream is not None:
        message_stream_close(project=project, stream=stream, reason="the distribution was deleted")
    _record(
        project,
        distribution,
        ActivityKind.ARCHIVED,
        "Deleted (archived).",
        by=by,
        data={"previous_status": previous},
    )
    return distribution


@transaction.atomic
def distribution_mark_sent(*, project: Project, distribution: Distribution) -> Distribution:
    """Every message has had its first attempt (called by delivery once the last one has): `sending`
    becomes `sent`; a paused one will resume as sent. Retries go on either way."""
    distribution = _locked(project, distribution)
    now = timezone.now()
    if distribution.status == DistributionStatus.SENDING:
        distribution.status = DistributionStatus.SENT
    elif (
        distribution.status == DistributionStatus.PAUSED
        and distribution.paused_from == DistributionStatus.SENDING
    ):
        distribution.paused_from = DistributionStatus.SENT
    else:
        return distribution
    distribution.sent_at = now
    distribution.updated_at = now
    distribution.save(update_fields=["status", "paused_from", "sent_at", "updated_at"])
    _record(project, distribution, ActivityKind.SENT, "Every message had its first attempt.", now=now)
    return distribution


def _end(project: Project, distribution: Distribution, now: datetime) -> None:
    distribution.status = DistributionStatus.ENDED
    distribution.paused_from = ""
    distribution.updated_at = now
    distribution.save(update_fields=["status", "paused_from", "updated_at"])
    _record(
        project,
        distribution,
        ActivityKind.ENDED,
        "Its time frame closed.",
        data={"live_until": distribution.live_until.isoformat()},
        now=now,
    )


# --- Sweeps (beat) ---------------------------------------------------------------------------------


def distributions_claim_due(*, now: datetime | None = None, limit: int = CLAIM_BATCH) -> list[Distribution]:
    """Move scheduled distributions whose send time has come to `sending`, across every project.

    Claimed with `SELECT ... FOR UPDATE SKIP LOCKED`, so two sweeps (or a sweep and a cancel) never
    take the same row; a cancel that waited for the lock then sees `sending` and is refused.
    Materialisation plugs in after this: the caller enqueues one materialisation per claimed
    distribution once this transaction commits.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Distribution.objects.unscoped()
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("project")
            .filter(status=DistributionStatus.SCHEDULED, send_at__lte=now)
            .order_by("send_at", "pk")[:limit]
        )
        for distribution in due:
            distribution.status = DistributionStatus.SENDING
            distribution.sending_started_at = now
            distribution.updated_at = now
            distribution.save(update_fields=["status", "sending_started_at", "updated_at"])
            _record(
                distribution.project,
                distribution,
                ActivityKind.SENDING,
                "Sending started.",
                data={"send_at": distribution.send_at.isoformat()},
                now=now,
            )
    return due


def distributions_end_closed(*, now: datetime | None = None, limit: int = CLAIM_BATCH) -> list[Distribution]:
    """End live and paused automatic distributions whose time frame has closed, across every project."""
    now = now or timezone.now()
    with transaction.atomic():
        closed = list(
            Distribution.objects.unscoped()
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("project")
            .filter(
                status__in=[DistributionStatus.LIVE, DistributionStatus.PAUSED],
                kind=DistributionKind.AUTOMATIC,
                live_until__lte=now,
            )
            .order_by("live_until", "pk")[:limit]
        )
        for distribution in closed:
            _end(distribution.project, distribution, now)
    return closed
