"""Manual sending: from a claimed distribution to its messages, and from its messages to `sent`.

When the beat sweep claims a distribution (`scheduled` → `sending`), a task on the `distributions`
queue resolves the audience at that moment and materialises the messages set-based, in batches,
each batch its own short transactions: first the codes (for "publish unique codes", claimed in bulk
by `campaigns.publications.publish_codes`, one per customer shared by all their channels), then one
`INSERT … SELECT` per channel. Every step is keyed (`manual:<distribution id>` on publications and
messages), so running it again after a crash creates nothing twice. Two runs never overlap: a run
holds the distribution's materialisation lock (a PostgreSQL session lock, freed when a killed
worker's connection closes), and the sweep hands over only a distribution whose lock is free.

A code pool too small for the audience fails before anything is published or sent: the distribution
pauses, saying how many codes are missing; resuming it (after adding codes) tries again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from campaigns.models import Campaign, PromotionTier, Publication
from campaigns.publications import PublicationRefused, check_campaign_publishable, publish_codes
from customers.models import Customer
from distributions import services
from distributions.models import (
    SENDING_STARTED,
    ActivityKind,
    Distribution,
    DistributionChannel,
    DistributionStatus,
)
from distributions.selectors import free_code_count
from eventbus.cause import Cause
from messaging.models import Message, MessageStream
from messaging.selectors import skipped_reason_counts
from messaging.services import messages_enqueue_select
from tenancy.models import Project

logger = logging.getLogger(__name__)

BATCH = 5000
# A claimed distribution whose materialisation has not finished by then, and whose lock no live run
# holds, is materialised again.
STALLED_AFTER = timedelta(minutes=2)
# The first key of the materialisation locks (`pg_try_advisory_lock(space, distribution id)`).
MATERIALISE_LOCK_SPACE = 0x4D41
_LOCK_KEY = "mod(%s::bigint, 2147483648)::int"  # the distribution's id as the lock's int4 second key
# The customer column a channel needs to reach someone, and the skip reason when it is empty.
ADDRESS_OF_CHANNEL = {"email": "email", "sms": "phone"}


def manual_cause_key(distribution: Distribution) -> str:
    return f"manual:{distribution.public_id}"


# --- Audience ------------------------------------------------------------------------------------

AudienceResolver = Callable[[Project, dict[str, Any]], list[int]]


def _one_customer(project: Project, audience: dict[str, Any]) -> list[int]:
    return list(
        Customer.objects.for_project(project)
        .filter(public_id=audience.get("customer") or "")
        .values_list("pk", flat=True)
    )


def _segment_members(project: Project, audience: dict[str, Any]) -> list[int]:
    from segments.selectors import segment_get, segment_member_ids

    segment = segment_get(project=project, identifier=audience.get("segment") or "")
    if segment is None:  # deleted since Save & Send (a live or scheduled one cannot be)
        return []
    return list(segment_member_ids(project=project, segment=segment))


AUDIENCE_RESOLVERS: dict[str, AudienceResolver] = {"customer": _one_customer, "segment": _segment_members}


def register_audience_resolver(audience_type: str, resolver: AudienceResolver) -> None:
    AUDIENCE_RESOLVERS[audience_type] = resolver


def audience_customer_ids(*, project: Project, distribution: Distribution) -> list[int]:
    """The audience's customer ids now (ordered, so batches are stable across re-runs)."""
    audience = dict(distribution.audience or {})
    resolver = AUDIENCE_RESOLVERS.get(audience.get("type") or "")
    if resolver is None:
        return []
    return sorted(set(resolver(project, audience)))


# --- What each message carries ---------------------------------------------------------------------


def static_variables(project: Project, distribution: Distribution) -> dict[str, Any]:
    """Variables the same for every message of the distribution (the campaign, the promotion)."""
    params = distribution.action_params or {}
    variables: dict[str, Any] = {}
    if params.get("campaign"):
        campaign = Campaign.objects.for_project(project).filter(public_id=params["campaign"]).first()
        if campaign is not None:
            variables.update({"campaign.id": campaign.public_id, "campaign.name": campaign.name})
    if params.get("promotion_tier"):
        tier = PromotionTier.objects.for_project(project).filter(public_id=params["promotion_tier"]).first()
        if tier is not None:
            variables.update(
                {"promotion_tier.name": tier.name, "promotion_tier.banner": getattr(tier, "banner", "") or ""}
            )
    return variables


def skip_reason_sql(channel: str) -> str:
    address = ADDRESS_OF_CHANNEL.get(channel)
    if address is None:
        return "''"
    return f"CASE WHEN coalesce(customer.{address}, '') = '' THEN 'no_{address}' ELSE '' END"


def deliverable_channels(project: Project, distribution: Distribution) -> list[DistributionChannel]:
    return list(
        DistributionChannel.objects.for_project(project)
        .filter(distribution=distribution, message_template__isnull=False)
        .select_related("message_template")
        .order_by("position", "pk")
    )


def _reachable_ids(
    project: Project, channels: list[DistributionChannel], customer_ids: list[int]
) -> list[int]:
    """The customers at least one channel can reach: only they are given a code."""
    if any(c.kind not in ADDRESS_OF_CHANNEL for c in channels):
        return customer_ids
    condition = Q()
    for channel in channels:
        condition |= ~Q(**{ADDRESS_OF_CHANNEL[channel.kind]: ""}) & Q(
            **{f"{ADDRESS_OF_CHANNEL[channel.kind]}__isnull": False}
        )
    return list(
        Customer.objects.for_project(project)
        .filter(pk__in=customer_ids)
        .filter(condition)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- Materialisation -------------------------------------------------------------------------------


class PoolTooSmall(Exception):
    pass


def _check_code_pool(project: Project, distribution: Distribution, campaign: Campaign, needed: int) -> None:
    """Refuse before anything is published when the campaign cannot serve everyone still waiting."""
    try:
        check_campaign_publishable(campaign)
    except PublicationRefused as error:
        raise PoolTooSmall(error.details) from None
    if campaign.type == Campaign.Type.AUTO_UPDATE:
        return
    already = (
        Publication.objects.for_project(project)
        .filter(distribution_id=distribution.pk, cause_key=manual_cause_key(distribution))
        .count()
    )
    still_needed = max(needed - already, 0)
    free = free_code_count(project=project, campaign=campaign)
    if still_needed > free:
        raise PoolTooSmall(
            f"The code pool of campaign {campaign.name} ({campaign.public_id}) is short by "
            f"{still_needed - free} codes: {still_needed} needed, {free} free."
        )


def _message_select(channel: str, with_codes: bool) -> str:
    """Rows for `messages_enqueue_select`: one per customer of the batch, with the code and publication
    that `publish_codes` just returned for them (arrays zipped with the ids, no lookup per row)."""
    variables = (
        "%s::jsonb || jsonb_strip_nulls(jsonb_build_object('voucher.code', batch.code,"
        " 'publication.id', batch.publication_id))"
    )
    skip = skip_reason_sql(channel)
    if with_codes:
        skip = f"CASE WHEN batch.code IS NULL THEN 'no_code' ELSE {skip} END"
    # Only constant SQL fragments are formatted in; every value is a bound parameter.
    return f"""
        SELECT customer.id, %s::text, {variables}, {skip}
        FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS batch(id, code, publication_id)
        JOIN customers_customer customer ON customer.id = batch.id AND customer.project_id = %s
    """  # noqa: S608


def _still_sending(project: Project, distribution: Distribution) -> bool:
    status, paused_from = (
        Distribution.objects.for_project(project)
        .filter(pk=distribution.pk)
        .values_list("status", "paused_from")
        .get()
    )
    return status == DistributionStatus.SENDING or (
        status == DistributionStatus.PAUSED and paused_from in SENDING_STARTED
    )


def distribution_materialise(*, project: Project, distribution: Distribution) -> dict[str, int]:
    """Create every message of a claimed manual distribution; returns messages created per channel.

    Safe to run again at any point: publications and messages are keyed by the distribution's cause
    key. Stops quietly when the distribution is no longer sending (deleted meanwhile).
    """
    with _materialisation_lock(distribution) as ours:
        if not ours:
            # Another run is alive (the sweep handed it over while it was working): two runs of one
            # audience would race for the same customers' codes, and the loser would find the codes
            # locked by the winner and count those customers as unserved.
            logger.info("Materialisation of %s is already running; left to it", distribution.public_id)
            return {}
        return _materialise(project, distribution)


@contextmanager
def _materialisation_lock(distribution: Distribution) -> Iterator[bool]:
    """Try to take the distribution's materialisation lock for this database session; yields
    whether we hold it. Session-level, not per transaction: the run spans many transactions."""
    key = [MATERIALISE_LOCK_SPACE, distribution.pk]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_try_advisory_lock(%s, {_LOCK_KEY})", key)
        (ours,) = cursor.fetchone()
    try:
        yield ours
    finally:
        if ours:
            try:
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT pg_advisory_unlock(%s, {_LOCK_KEY})", key)
            except DatabaseError:
                # An aborted transaction refuses the unlock; ending the session frees the lock.
                if not connection.in_atomic_block:
                    connection.close()


def materialisation_running(distribution: Distribution) -> bool:
    """Does a live run (any session's) hold the distribution's materialisation lock?"""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT EXISTS (
                SELECT FROM pg_locks
                WHERE locktype = 'advisory' AND granted AND objsubid = 2
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND classid = %s::int::oid AND objid = {_LOCK_KEY}::oid
            )
            """,  # noqa: S608 (a constant fragment; values are parameters)
            [MATERIALISE_LOCK_SPACE, distribution.pk],
        )
        return cursor.fetchone()[0]


def _materialise(project: Project, distribution: Distribution) -> dict[str, int]:
    if not _still_sending(project, distribution):
        return {}
    stream = services.distribution_stream_open(project=project, distribution=distribution)
    cause_key = manual_cause_key(distribution)
    channels = deliverable_channels(project, distribution)
    customer_ids = audience_customer_ids(project=project, distribution=distribution)
    campaign = None
    if distribution.action_key == "publish_codes":
        campaign = (
            Campaign.objects.for_project(project)
            .filter(public_id=(distribution.action_params or {}).get("campaign") or "")
            .first()
        )
    with_codes = campaign is not None
    if with_codes and channels:
        reachable_count = sum(
            len(_reachable_ids(project, channels, customer_ids[start : start + BATCH]))
            for start in range(0, len(customer_ids), BATCH)
        )
        try:
            _check_code_pool(project, distribution, campaign, reachable_count)
        except PoolTooSmall as error:
            services.distribution_pause(project=project, distribution=distribution, reason=str(error))
            return {}
    static = json.dumps(static_variables(project, distribution))
    created: dict[str, int] = {c.kind: 0 for c in channels}
    cause = Cause.distribution(distribution.public_id)
    for start in range(0, len(customer_ids), BATCH):
        if not _still_sending(project, distribution):
            return created
        batch = customer_ids[start : start + BATCH]
        codes: dict[int, str] = {}
        publications: dict[int, str] = {}
        if with_codes and channels:
            published = publish_codes(
                project=project,
                campaign=campaign,
                customer_ids=_reachable_ids(project, channels, batch),
                cause_key=cause_key,
                distribution_id=distribution.pk,
                cause=cause,
            )
            codes, publications = published, published.publications
        batch_codes = [codes.get(customer_id) for customer_id in batch]
        batch_publications = [publications.get(customer_id) for customer_id in batch]
        for channel in channels:
            params: list[Any] = [cause_key, static, batch, batch_codes, batch_publications, project.pk]
            result = messages_enqueue_select(
                project=project,
                stream=stream,
                channel=channel.kind,
                template=channel.message_template,
                select_sql=_message_select(channel.kind, with_codes),
                params=params,
            )
            created[channel.kind] += result.created
    _finish(project, distribution, stream, cause_key, len(customer_ids), created)
    return created


@transaction.atomic
def _finish(
    project: Project,
    distribution: Distribution,
    stream: MessageStream,
    cause_key: str,
    audience_size: int,
    created: dict[str, int],
) -> None:
    locked = Distribution.objects.for_project(project).select_for_update().get(pk=distribution.pk)
    if locked.materialised_at is not None:
        return
    now = timezone.now()
    locked.materialised_at = now
    locked.save(update_fields=["materialised_at"])
    skipped = skipped_counts(project=project, stream=stream, cause_key=cause_key)
    summary = ", ".join(f"{count} {kind}" for kind, count in created.items()) or "no deliverable channel"
    services.record_activity(
        project,
        locked,
        ActivityKind.MATERIALISED,
        f"Messages created for {audience_size} customers: {summary}.",
        data={"audience_size": audience_size, "created": created, "skipped": skipped},
        now=now,
    )


def skipped_counts(
    *, project: Project, stream: MessageStream, cause_key: str | None = None
) -> dict[str, dict]:
    """Per channel: how many messages were skipped, by reason (all of the stream's from its tallies;
    one cause's by counting them)."""
    if cause_key is None:
        return skipped_reason_counts(project=project, stream=stream)
    messages = Message.objects.for_project(project).filter(stream=stream, state=Message.State.SKIPPED)
    if cause_key is not None:
        messages = messages.filter(cause_key=cause_key)
    counts: dict[str, dict] = {}
    for row in messages.values("channel", "last_error").annotate(count=Count("id")).order_by():
        counts.setdefault(row["channel"], {})[row["last_error"] or "skipped"] = row["count"]
    return counts


@transaction.atomic
def distributions_schedule_after_first_sync(
    *, project: Project, segment_public_id: str, synced_at: datetime
) -> list[Distribution]:
    """The segment finished its first sync: the distributions waiting for it send `SEND_DELAY` later."""
    waiting = list(
        Distribution.objects.for_project(project)
        .select_for_update()
        .filter(
            status=DistributionStatus.SCHEDULED,
            send_at__isnull=True,
            audience__type="segment",
            audience__segment=segment_public_id,
        )
    )
    for distribution in waiting:
        distribution.send_at = synced_at + services.SEND_DELAY
        distribution.updated_at = timezone.now()
        distribution.save(update_fields=["send_at", "updated_at"])
        services.record_activity(
            project,
            distribution,
            ActivityKind.SCHEDULED,
            f"Segment {segment_public_id} synced: scheduled to send at {distribution.send_at.isoformat()}.",
            data={"send_at": distribution.send_at.isoformat()},
        )
    return waiting


# --- Sending → sent --------------------------------------------------------------------------------

_AWAITING_FIRST_ATTEMPT_SQL = """
SELECT EXISTS (
    SELECT 1 FROM messaging_message
    WHERE project_id = %s AND stream_id = %s AND state IN ('queued', 'deferred', 'sending')
      AND first_attempt_at IS NULL
)
"""


def distribution_check_sent(*, project: Project, distribution: Distribution) -> bool:
    """Mark the distribution sent once its messages are created and each has had a first attempt."""
    if distribution.materialised_at is None:
        return False
    stream = services.stream_of(project, distribution)
    if stream is not None:
        with connection.cursor() as cursor:
            cursor.execute(_AWAITING_FIRST_ATTEMPT_SQL, [project.pk, stream.pk])
            if cursor.fetchone()[0]:
                return False
    services.distribution_mark_sent(project=project, distribution=distribution)
    return True


def distributions_sweep_sending(*, now: datetime | None = None) -> dict[str, list[str]]:
    """Beat, across projects: re-materialise stalled distributions, mark finished ones sent.

    Returns the public ids it handed to materialisation and the ones it marked sent.
    """
    from distributions.tasks import materialise_distribution

    now = now or timezone.now()
    report: dict[str, list[str]] = {"materialise": [], "sent": []}
    sending = (
        Distribution.objects.unscoped()
        .select_related("project")
        .filter(
            Q(status=DistributionStatus.SENDING)
            | Q(status=DistributionStatus.PAUSED, paused_from=DistributionStatus.SENDING)
        )
        .order_by("pk")[:500]
    )
    for distribution in sending:
        if distribution.materialised_at is None:
            started = distribution.sending_started_at or distribution.updated_at
            stalled = distribution.status == DistributionStatus.SENDING and started <= now - STALLED_AFTER
            if stalled and not materialisation_running(distribution):
                materialise_distribution.delay(distribution.project_id, distribution.public_id)
                report["materialise"].append(distribution.public_id)
        elif distribution_check_sent(project=distribution.project, distribution=distribution):
            report["sent"].append(distribution.public_id)
    return report
